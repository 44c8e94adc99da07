import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger } from "../regional/logger.ts";
import { createSecrets } from "../regional/secrets/secrets.ts";
import { rotatingSigningSecrets } from "../regional/secrets/signing-secrets.ts";
import { createSecretStore } from "../regional/secrets/store.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { startSecretsManagerServer } from "../test/support/secrets-manager-server.ts";
import { microsecondsPerOpSync, type MicroResult } from "./micro.ts";
import { freePort, startProcess } from "./processes.ts";

export interface BuiltRegionalOptions {
  root: string;
  /** Starts timed per variant; the median is reported. */
  starts?: number;
  /** How long the service sits idle before its resident memory is read. */
  idleMs?: number;
}

interface Run {
  readyMs: number;
  rssMiB: number;
}

/**
 * The regional service as production runs it (`npm run build`, then `node dist/regional/main.js`)
 * against a real Postgres: start to ready, resident memory once idle, with its secrets
 * given as values and as Secrets Manager references (a local endpoint); and what a cached
 * secret costs a request.
 */
export async function builtRegionalFigures(options: BuiltRegionalOptions): Promise<MicroResult[]> {
  const built = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "regional"], { cwd: options.root, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const cluster = await startPostgres({ database: "built_bench" });
  const sm = await startSecretsManagerServer();
  const work = await mkdtemp(join(tmpdir(), "bw-built-bench-"));
  try {
    const signing = "built-bench-edge-signing-secret-0123456789abcdef";
    sm.put("bench/edge-signing", signing);
    sm.put("bench/db", JSON.stringify({ password: "unused-under-trust-auth" }));
    const base = { DATABASE_URL: cluster.primaryUrl, MOCK_PROVIDERS: "on", LOG_LEVEL: "warn", DATA_DIR: join(work, "data") };
    const plain = { ...base, EDGE_SIGNING_SECRET: signing };
    const referenced = {
      ...base,
      EDGE_SIGNING_SECRET: "secretsmanager:bench/edge-signing",
      DATABASE_PASSWORD: "secretsmanager:bench/db#password",
      SECRETS_MANAGER_ENDPOINT: sm.url,
      SECRETS_MANAGER_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "bench",
      AWS_SECRET_ACCESS_KEY: "bench",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    // The first start applies the migrations; the figures are of starts after it, as in a rollout.
    await startOnce(options.root, plain, 0);
    const starts = options.starts ?? 3;
    const idleMs = options.idleMs ?? 3_000;
    const plainRuns: Run[] = [];
    const referencedRuns: Run[] = [];
    for (let i = 0; i < starts; i++) {
      plainRuns.push(await startOnce(options.root, plain, idleMs));
      referencedRuns.push(await startOnce(options.root, referenced, idleMs));
    }
    return [
      {
        id: "built regional: start to ready, real Postgres",
        value: median(plainRuns.map((run) => run.readyMs)),
        unit: "ms",
        aim: { op: "≤", value: 2_000 },
      },
      {
        id: "built regional: start to ready, secrets from Secrets Manager",
        value: median(referencedRuns.map((run) => run.readyMs)),
        unit: "ms",
        aim: { op: "≤", value: 2_000 },
      },
      {
        id: "built regional: resident memory idle, real Postgres",
        value: median(plainRuns.map((run) => run.rssMiB)),
        unit: "MiB",
        aim: { op: "≤", value: 100 },
      },
      {
        id: "built regional: resident memory idle, secrets from Secrets Manager",
        value: median(referencedRuns.map((run) => run.rssMiB)),
        unit: "MiB",
        aim: { op: "≤", value: 100 },
      },
      ...(await cachedSecretFigures()),
    ];
  } finally {
    await sm.close();
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Spawns the built service, times it to its first ready answer, lets it idle, reads its RSS and stops it. */
async function startOnce(root: string, env: Record<string, string>, idleMs: number): Promise<Run> {
  const port = await freePort();
  const started = performance.now();
  const managed = startProcess({
    name: "built regional",
    command: process.execPath,
    args: ["dist/regional/main.js"],
    cwd: root,
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port) },
  });
  try {
    const readyMs = (await untilReady(`http://127.0.0.1:${port}/health/ready`, () => managed.hasExited(), managed.recentOutput)) - started;
    await delay(idleMs);
    const status = await readFile(`/proc/${managed.child.pid}/status`, "utf8");
    const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
    return { readyMs, rssMiB: kib / 1024 };
  } finally {
    await managed.stop();
  }
}

/** The moment /health/ready first answers 200, polled every 5 ms. */
async function untilReady(url: string, exited: () => boolean, output: () => string): Promise<number> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (exited()) throw new Error(`built regional exited while starting:\n${output()}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return performance.now();
    await delay(5);
  }
  throw new Error(`built regional not ready within 30 s:\n${output()}`);
}

/** What a request pays for a secret once it is cached: a provider key's getter, and the signing secrets. */
async function cachedSecretFigures(): Promise<MicroResult[]> {
  const logger = createLogger("silent");
  const source = async (name: string) => ({
    value: name.endsWith("json") ? JSON.stringify({ apiKey: "sk-bench" }) : "bench-secret-0123456789abcdef0123456789",
    versionId: "v1",
  });
  const secrets = createSecrets(createSecretStore({ source, ttlMs: 3_600_000, logger }), logger);
  const key = secrets.secret({ name: "bench/json", jsonKey: "apiKey" });
  const signing = rotatingSigningSecrets(secrets, { name: "bench/signing" });
  await secrets.prime();
  return [
    {
      id: "cached secret lookup (provider key, JSON key)",
      value: microsecondsPerOpSync(2_000_000, () => key.current()),
      unit: "µs/op",
      aim: { op: "≤", value: 1 },
    },
    {
      id: "cached secret lookup (edge signing, current + previous)",
      value: microsecondsPerOpSync(2_000_000, () => signing.accepted()),
      unit: "µs/op",
      aim: { op: "≤", value: 1 },
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
