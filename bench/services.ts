import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort, startProcess, waitForHttpOk, type ManagedProcess } from "./processes.ts";
import type { Target } from "./target.ts";

/** The three servers a full bench run needs, each started on a free port and torn down after. */
export interface Service {
  process: ManagedProcess;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Anything odd seen while starting it, worth telling the reader. */
  notes: string[];
}

const upstreamModel = "bench-model";
/** How the gateway names the upstream model: `<provider>/<model>`. */
const gatewayModel = `openai/${upstreamModel}`;

export async function startMockUpstream(root: string, latencyMs: number, chunkIntervalMs = 0): Promise<Service> {
  const managed = startProcess({
    name: "mock upstream",
    command: process.execPath,
    args: ["--import", "tsx", join("bench", "mock-upstream.ts")],
    cwd: root,
    env: { ...process.env, MOCK_PORT: "0", MOCK_LATENCY_MS: String(latencyMs), MOCK_CHUNK_INTERVAL_MS: String(chunkIntervalMs) },
  });
  const [, port] = await managed.waitForLine(/^listening (\d+)$/, 30_000);
  return { process: managed, origin: `http://127.0.0.1:${port}`, notes: [] };
}

export interface RegionalOptions {
  root: string;
  upstreamOrigin: string;
  dataDir: string;
  apiKey: string;
  /** Set: the service takes only calls the edge signed with it (as in production). */
  signingSecret?: string;
  /** More environment (a routes file, the keys it refers to). */
  env?: Record<string, string>;
}

export async function startRegional(options: RegionalOptions): Promise<Service> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: options.dataDir,
    BREAKWATER_DEV_KEY: options.apiKey,
    OPENAI_API_KEY: "bench-upstream-key",
    OPENAI_BASE_URL: `${options.upstreamOrigin}/v1`,
    OPENAI_MODELS: upstreamModel,
    LOG_LEVEL: "warn",
    SHUTDOWN_GRACE_MS: "2000",
    // The bench measures overhead, not limits: the dev key must never be the bottleneck.
    BREAKWATER_DEV_RPM: "1000000000",
    BREAKWATER_DEV_TPM: "1000000000",
    ...options.env,
  };
  delete env.EDGE_SIGNING_SECRET;
  if (options.signingSecret) env.EDGE_SIGNING_SECRET = options.signingSecret;
  // The embedded database unless a Postgres is asked for explicitly; never the shell's own.
  delete env.DATABASE_URL;
  if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
  const managed = startProcess({
    name: "regional",
    command: process.execPath,
    args: ["--import", "tsx", join("regional", "main.ts")],
    cwd: options.root,
    env,
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health/ready`, managed, 120_000);
  if (options.signingSecret) return { process: managed, origin, notes: [] };
  // Ready is not enough: the bench's key must also be accepted before anything is measured.
  const auth = await waitForHttpOk(`${origin}/v1/models`, managed, 30_000, { authorization: `Bearer ${options.apiKey}` });
  const notes = auth.attempts > 1 ? [`regional rejected its own dev key for ${auth.elapsedMs} ms after /health/ready answered 200`] : [];
  return { process: managed, origin, notes };
}

export interface EdgeOptions {
  root: string;
  regionalOrigin: string;
  persistDir: string;
  signingSecret: string;
}

export async function startEdge(options: EdgeOptions): Promise<Service> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const localWrangler = join(options.root, "node_modules", ".bin", "wrangler");
  const [command, prefix] = existsSync(localWrangler) ? [localWrangler, []] : ["npx", ["wrangler"]];
  const managed = startProcess({
    name: "edge (wrangler dev)",
    command,
    args: [
      ...prefix,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--var",
      `REGIONAL_ORIGIN:${options.regionalOrigin}`,
      "--var",
      `EDGE_SIGNING_SECRET:${options.signingSecret}`,
      "--persist-to",
      options.persistDir,
      "--show-interactive-dev-session=false",
    ],
    cwd: options.root,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
    },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health/live`, managed, 120_000);
  return { process: managed, origin, notes: [] };
}

export function directTarget(upstream: Service): Target {
  return {
    path: "direct",
    url: `${upstream.origin}/v1/chat/completions`,
    model: upstreamModel,
    headers: { authorization: "Bearer bench-upstream-key" },
  };
}

export function gatewayTarget(path: "regional" | "edge", service: Service, apiKey: string): Target {
  return {
    path,
    url: `${service.origin}/v1/chat/completions`,
    model: gatewayModel,
    headers: { authorization: `Bearer ${apiKey}` },
  };
}

/** A dev key the regional service accepts (`bw_` + at least 16 characters). */
export function benchApiKey(): string {
  return `bw_bench_${randomBytes(18).toString("base64url").slice(0, 24)}`;
}
