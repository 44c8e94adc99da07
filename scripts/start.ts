/**
 * `npm start`: the regional service on :8788 (embedded PGlite, mock providers) and the
 * edge under `wrangler dev` on :8787 pointed at it. Ctrl-C stops both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";

const regionalPort = process.env.PORT ?? "8788";
const edgePort = process.env.EDGE_PORT ?? "8787";
const regionalOrigin = `http://127.0.0.1:${regionalPort}`;
// The edge signs what it sends to regional; both get the same secret, fresh on every start.
const edgeSigningSecret = process.env.EDGE_SIGNING_SECRET ?? randomBytes(32).toString("base64url");
// The edge's key-record cache in Upstash, when the environment names one (regional deletes from it on revocation).
const upstashVars = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"].flatMap((name) =>
  process.env[name] ? ["--var", `${name}:${process.env[name]}`] : [],
);
const quietWrangler = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
};

const children: ChildProcess[] = [];
let stopping = false;

function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      // The API key line is printed bare so it can be copied as it stands.
      process.stdout.write(line.startsWith("API key: ") ? `\n${line}\n\n` : `[${name}] ${line}\n`);
    });
  }
  child.on("exit", (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[${name}] exited (${signal ?? code}); stopping\n`);
      stop(code ?? 1);
    }
  });
  children.push(child);
  return child;
}

function stop(exitCode = 0): void {
  if (stopping) return;
  stopping = true;
  const exits = children.map(
    (child) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
      ),
  );
  for (const child of children) if (child.pid) process.kill(-child.pid, "SIGTERM");
  const force = setTimeout(() => {
    for (const child of children) if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  }, 35_000);
  void Promise.all(exits).then(() => {
    clearTimeout(force);
    process.exit(exitCode);
  });
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ready = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not become ready within ${timeoutMs / 1000} s`);
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

run("regional", process.execPath, ["--import", "tsx", "regional/main.ts"], { PORT: regionalPort, EDGE_SIGNING_SECRET: edgeSigningSecret });
await waitForReady(`${regionalOrigin}/health/ready`, 60_000);
run(
  "edge",
  process.execPath,
  [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    edgePort,
    "--var",
    `REGIONAL_ORIGIN:${regionalOrigin}`,
    "--var",
    `EDGE_SIGNING_SECRET:${edgeSigningSecret}`,
    ...upstashVars,
  ],
  quietWrangler,
);
await waitForReady(`http://127.0.0.1:${edgePort}/health/live`, 60_000);
process.stdout.write(`\nBreakwater is up: http://127.0.0.1:${edgePort}/v1 (edge) → ${regionalOrigin} (regional). Ctrl-C stops both.\n`);
