import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "../..");
export const quietWranglerEnv = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
};

/** What the edge signs its calls to regional with; both processes get it unless told otherwise. */
export const edgeSigningSecret = randomBytes(32).toString("base64url");

export interface RunningProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends `signal` to the process group and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function waitForOk(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} was ready:\n${output().slice(-3000)}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms:\n${output().slice(-3000)}`);
}

function launch(command: string, args: string[], env: NodeJS.ProcessEnv, cleanup?: () => Promise<void>): Omit<RunningProcess, "url"> {
  const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout?.on("data", (part: Buffer) => (output += part.toString()));
  child.stderr?.on("data", (part: Buffer) => (output += part.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return {
    child,
    output: () => output,
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
        const killer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), timeoutMs);
        await exited;
        clearTimeout(killer);
      }
      await cleanup?.();
      return child.exitCode;
    },
  };
}

/**
 * The regional service as `npm start` runs it, as its own process. The mock providers are
 * on even with a `DATABASE_URL` (which alone would mean production), since tests use them.
 */
export async function startRegional(env: Record<string, string>): Promise<RunningProcess> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "bw-regional-"));
  const defaults = {
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    EDGE_SIGNING_SECRET: edgeSigningSecret,
    MOCK_PROVIDERS: "on",
  };
  const running = launch(process.execPath, ["--import", "tsx", "regional/main.ts"], { ...defaults, ...env }, () =>
    rm(dataDir, { recursive: true, force: true }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}/health/ready`, running.child, running.output, 60_000);
  } catch (error) {
    await running.stop("SIGKILL");
    throw error;
  }
  return { ...running, url };
}

/** The edge Worker under `wrangler dev`, with `vars` overriding wrangler.toml. */
export async function startEdge(vars: Record<string, string>): Promise<RunningProcess> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const stateDir = await mkdtemp(join(tmpdir(), "bw-edge-"));
  const varArgs = Object.entries({ EDGE_SIGNING_SECRET: edgeSigningSecret, ...vars }).flatMap(([name, value]) => [
    "--var",
    `${name}:${value}`,
  ]);
  const args = [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    stateDir,
    "--show-interactive-dev-session=false",
    ...varArgs,
  ];
  const running = launch(process.execPath, args, quietWranglerEnv, () => rm(stateDir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}/health/live`, running.child, running.output, 90_000);
  } catch (error) {
    await running.stop("SIGKILL");
    throw error;
  }
  return { ...running, url };
}
