/**
 * What API-key auth (warm key cache) and the rate limiter add at the edge, under
 * `wrangler dev`: the same chat request through the real edge and through a baseline Worker
 * that forwards the same way (body read whole, signed, streamed back) with a fixed identity
 * and no auth or limits (`bench/edge-plain-worker.ts`). Both go to one regional process
 * (embedded PGlite, mock provider). Through the real edge it is sent twice: with the dev key
 * (rate limits only) and with a second key of the same tenant that has a daily budget in
 * USD (the budget window checked, reserved and settled in the same limiter call, the price
 * sheet read once a minute). Requests run one at a time over a keep-alive connection,
 * alternating between the three in rounds so drift hits them alike.
 *
 * `npm run bench` calls `edgeAuthScenario`; `tsx bench/edge-auth.ts` runs it alone.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { keyRecord, type KeyRecord } from "../shared/contract/keys.ts";
import { sha256Hex, sign, signatureHeader, timestampHeader } from "../shared/signing.ts";
import { freePort, startProcess, waitForHttpOk, type ManagedProcess } from "./processes.ts";
import { latencyRow, summarize, type LatencySummary } from "./stats.ts";
import { requestWhole } from "./whole-request.ts";

export interface EdgeAuthOptions {
  /** The repository root. */
  root: string;
  /** Scratch space for PGlite, wrangler state and the baseline Worker's config; the caller removes it. */
  workDir: string;
  /** Measured requests per Worker (default 2,000). */
  requests?: number;
  /** Unmeasured requests per Worker first (default 300). */
  warmupRequests?: number;
  /** How many alternating blocks the measured requests are split into (default 10). */
  rounds?: number;
}

export interface EdgeAuthResult {
  /** Forwarding alone: the baseline Worker. */
  plain: LatencySummary;
  /** The real edge: auth with a warm key cache, the key's and tenant's limiters, usage metering. */
  guarded: LatencySummary;
  /** The real edge with a key that has a daily budget in USD. */
  budgeted: LatencySummary;
  /** guarded p50 − plain p50: the aim is ≤ 2 ms. */
  addedP50Ms: number;
  /** budgeted p50 − guarded p50: what the budget check adds to the limiter path; the aim is ≤ 1 ms. */
  budgetAddedP50Ms: number;
  failures: number;
  firstFailure?: string;
}

type Variant = "plain" | "guarded" | "budgeted";

const chatBody = JSON.stringify({
  model: "mock/echo",
  messages: [{ role: "user", content: "Say hello to the benchmark." }],
  max_tokens: 16,
});
const quietWrangler = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
};

export async function edgeAuthScenario(options: EdgeAuthOptions): Promise<EdgeAuthResult> {
  const secret = randomBytes(32).toString("base64url");
  const apiKey = `bw_bench_${randomBytes(18).toString("base64url").slice(0, 24)}`;
  const adminKey = randomBytes(32).toString("base64url");
  const started: ManagedProcess[] = [];
  try {
    const regional = await startRegional(options, secret, apiKey, adminKey);
    started.push(regional.process);
    const identity = await keyIdentity(regional.origin, secret, apiKey);
    const budgetedKey = await keyWithBudget(regional.origin, adminKey, identity.tenant_id);
    if ((await keyIdentity(regional.origin, secret, budgetedKey)).budgets.length === 0)
      throw new Error("regional's key record carries no budget for the bench's budgeted key");

    const edge = await startWrangler(options, "edge (auth + limits)", join(options.root, "wrangler.toml"), {
      REGIONAL_ORIGIN: regional.origin,
      EDGE_SIGNING_SECRET: secret,
    });
    started.push(edge.process);
    const plainConfig = join(options.workDir, "edge-plain.wrangler.toml");
    writeFileSync(
      plainConfig,
      `name = "breakwater-bench-plain-edge"\nmain = ${JSON.stringify(join(options.root, "bench", "edge-plain-worker.ts"))}\ncompatibility_date = "2026-05-01"\n`,
    );
    const plain = await startWrangler(options, "edge (forwarding only)", plainConfig, {
      REGIONAL_ORIGIN: regional.origin,
      EDGE_SIGNING_SECRET: secret,
      BENCH_KEY_ID: identity.key_id,
      BENCH_KEY_PREFIX: identity.prefix,
      BENCH_TENANT_ID: identity.tenant_id,
    });
    started.push(plain.process);

    const path = "/v1/chat/completions";
    return await measure(
      {
        plain: { url: `${plain.origin}${path}`, key: apiKey },
        guarded: { url: `${edge.origin}${path}`, key: apiKey },
        budgeted: { url: `${edge.origin}${path}`, key: budgetedKey },
      },
      options,
    );
  } finally {
    for (const managed of started.reverse()) await managed.stop();
  }
}

async function measure(targets: Record<Variant, { url: string; key: string }>, options: EdgeAuthOptions): Promise<EdgeAuthResult> {
  const requests = options.requests ?? 2_000;
  const rounds = options.rounds ?? 10;
  const warmup = options.warmupRequests ?? 300;
  const variants: Variant[] = ["plain", "guarded", "budgeted"];
  const agents = Object.fromEntries(variants.map((which) => [which, new Agent({ keepAlive: true, maxSockets: 1 })])) as Record<
    Variant,
    Agent
  >;
  const samples: Record<Variant, number[]> = { plain: [], guarded: [], budgeted: [] };
  let failures = 0;
  let firstFailure: string | undefined;
  const run = async (which: Variant, count: number, keep: boolean): Promise<void> => {
    const headers = { authorization: `Bearer ${targets[which].key}`, "content-type": "application/json" };
    for (let i = 0; i < count; i++) {
      const timing = await timedPost(agents[which], targets[which].url, headers);
      if (timing.status !== 200) {
        failures += 1;
        firstFailure ??= `${which}: status ${timing.status}: ${timing.body.slice(0, 300)}`;
      } else if (keep) samples[which].push(timing.ms);
    }
  };
  try {
    for (const which of variants) await run(which, warmup, false);
    const perRound = Math.ceil(requests / rounds);
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next variant, so none always follows the same one.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const which of order) await run(which, perRound, true);
    }
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
  }
  const result = { plain: summarize(samples.plain), guarded: summarize(samples.guarded), budgeted: summarize(samples.budgeted) };
  return {
    ...result,
    addedP50Ms: result.guarded.p50Ms - result.plain.p50Ms,
    budgetAddedP50Ms: result.budgeted.p50Ms - result.guarded.p50Ms,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

/**
 * A second key of the dev tenant, made through the admin API with limits out of the bench's
 * reach and a daily budget in USD it never spends: only the budget sets it apart from the dev key.
 */
async function keyWithBudget(origin: string, adminKey: string, tenantId: string): Promise<string> {
  const admin = async (method: string, path: string, body: unknown): Promise<unknown> => {
    const response = await fetch(`${origin}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /admin${path} answered ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  const created = (await admin("POST", `/tenants/${tenantId}/keys`, { name: "bench budget" })) as { id: string; key: string };
  await admin("PATCH", `/keys/${created.id}`, { rpm_limit: 1_000_000, tpm_limit: 1_000_000_000 });
  await admin("PUT", `/keys/${created.id}/budgets/day`, { unit: "usd", limit: 1_000_000, softThreshold: 0.99 });
  return created.key;
}

async function timedPost(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number; body: string }> {
  const answer = await requestWhole(agent, "POST", url, headers, chatBody);
  return { status: answer.status, ms: answer.endedAt - answer.startedAt, body: answer.body };
}

export async function startRegional(
  options: EdgeAuthOptions,
  secret: string,
  apiKey: string,
  adminKey?: string,
): Promise<{ process: ManagedProcess; origin: string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: join(options.workDir, "edge-auth-data"),
    BREAKWATER_DEV_KEY: apiKey,
    // Far above what the bench sends, so every request is measured, none refused.
    BREAKWATER_DEV_RPM: "100000000",
    BREAKWATER_DEV_TPM: "1000000000",
    EDGE_SIGNING_SECRET: secret,
    LOG_LEVEL: "warn",
    SHUTDOWN_GRACE_MS: "2000",
    ...(adminKey ? { ADMIN_API_KEY: adminKey } : {}),
  };
  delete env.DATABASE_URL;
  delete env.UPSTASH_REDIS_REST_URL;
  delete env.UPSTASH_REDIS_REST_TOKEN;
  const managed = startProcess({
    name: "regional",
    command: process.execPath,
    args: ["--import", "tsx", join("regional", "main.ts")],
    cwd: options.root,
    env,
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health/ready`, managed, 120_000);
  return { process: managed, origin };
}

/** The key's record as the edge sees it, asked of regional the way the edge asks. */
export async function keyIdentity(origin: string, secret: string, apiKey: string): Promise<KeyRecord> {
  const path = `/internal/keys/${await sha256Hex(apiKey)}`;
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(secret, { method: "GET", pathAndQuery: path, timestampS, bodySha256: await sha256Hex(""), headers: {} });
  const response = await fetch(`${origin}${path}`, { headers: { [timestampHeader]: String(timestampS), [signatureHeader]: signature } });
  if (response.status !== 200)
    throw new Error(`regional did not answer the bench key's record: ${response.status} ${await response.text()}`);
  return keyRecord.parse(await response.json());
}

export async function startWrangler(
  options: EdgeAuthOptions,
  name: string,
  config: string,
  vars: Record<string, string>,
): Promise<{ process: ManagedProcess; origin: string }> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const persist = join(options.workDir, `wrangler-${port}`);
  mkdirSync(persist, { recursive: true });
  const args = [
    join("node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--config",
    config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  const managed = startProcess({ name, command: process.execPath, args, cwd: options.root, env: { ...process.env, ...quietWrangler } });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health/live`, managed, 120_000);
  return { process: managed, origin };
}

function format(result: EdgeAuthResult): string {
  const row = (name: string, summary: LatencySummary) => latencyRow(name, summary, 24);
  return [
    row("forwarding only", result.plain),
    row("auth (warm) + limiter", result.guarded),
    row("... + a budget in USD", result.budgeted),
    `added p50: ${result.addedP50Ms.toFixed(3)} ms (aim ≤ 2 ms); the budget adds ${result.budgetAddedP50Ms.toFixed(3)} ms (aim ≤ 1 ms)${result.failures > 0 ? `; ${result.failures} failures, first: ${result.firstFailure}` : ""}`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const workDir = mkdtempSync(join(tmpdir(), "breakwater-bench-edge-auth-"));
  try {
    const requests = Number(process.env.BENCH_EDGE_AUTH_REQUESTS ?? 2_000);
    const rounds = Number(process.env.BENCH_EDGE_AUTH_ROUNDS ?? 10);
    process.stdout.write(`${format(await edgeAuthScenario({ root, workDir, requests, rounds }))}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
