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

/** Spawns `command` in a process group of its own; `onExit` decides what its exit means (by default: stop everything). */
function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, onExit = stopOnExit(name)): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      // The API key line is printed bare so it can be copied as it stands.
      process.stdout.write(line.startsWith("API key: ") ? `\n${line}\n\n` : `[${name}] ${line}\n`);
    });
  }
  child.on("exit", (code, signal) => onExit(code, signal));
  children.push(child);
  return child;
}

const stopOnExit =
  (name: string) =>
  (code: number | null, signal: NodeJS.Signals | null): void => {
    if (stopping) return;
    process.stderr.write(`[${name}] exited (${signal ?? code}); stopping\n`);
    stop(code ?? 1);
  };

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
const edgeOrigin = `http://127.0.0.1:${edgePort}`;
const edgeArgs = [
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
];
/*
 * wrangler dev does not bring back one of its workerd processes that died — as one does when a
 * burst of connections takes every file descriptor it may open ("accept: Too many open files") — and
 * its proxy then holds every later request forever. So the edge is watched: when
 * `/health/live` has not answered `edgeMissesBeforeRestart` times in a row, wrangler is
 * stopped and started again, and the edge serves again once load has dropped.
 */
const edgeProbeEveryMs = 2_000;
const edgeProbeTimeoutMs = 5_000;
const edgeMissesBeforeRestart = 3;

let edge = run("edge", process.execPath, edgeArgs, quietWrangler);
await waitForReady(`${edgeOrigin}/health/live`, 60_000);
process.stdout.write(`\nBreakwater is up: ${edgeOrigin}/v1 (edge) → ${regionalOrigin} (regional). Ctrl-C stops both.\n`);
void watchEdge();

async function watchEdge(): Promise<void> {
  let misses = 0;
  while (!stopping) {
    await new Promise((resolve) => setTimeout(resolve, edgeProbeEveryMs));
    const alive = await fetch(`${edgeOrigin}/health/live`, { signal: AbortSignal.timeout(edgeProbeTimeoutMs) }).then(
      async (response) => {
        await response.body?.cancel();
        return response.ok;
      },
      () => false,
    );
    misses = alive ? 0 : misses + 1;
    if (misses < edgeMissesBeforeRestart || stopping) continue;
    misses = 0;
    process.stderr.write(`[edge] /health/live has not answered ${edgeMissesBeforeRestart} times in a row; restarting wrangler dev\n`);
    await restartEdge();
  }
}

async function restartEdge(): Promise<void> {
  const old = edge;
  // Its exit is expected now: what it would have meant (stop everything) is taken off first.
  old.removeAllListeners("exit");
  const exited = new Promise<void>((resolve) =>
    old.exitCode !== null || old.signalCode !== null ? resolve() : old.once("exit", () => resolve()),
  );
  children.splice(children.indexOf(old), 1);
  signalGroup(old, "SIGTERM");
  const force = setTimeout(() => signalGroup(old, "SIGKILL"), 5_000);
  await exited;
  clearTimeout(force);
  if (stopping) return;
  edge = run("edge", process.execPath, edgeArgs, quietWrangler);
  await waitForReady(`${edgeOrigin}/health/live`, 60_000).then(
    () => process.stdout.write(`[edge] serving again on ${edgeOrigin}\n`),
    (error: unknown) => process.stderr.write(`[edge] ${String(error)}\n`),
  );
}

/** Signals the child's whole process group (wrangler and its workerd processes); one already gone is no error. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Exited meanwhile.
  }
}
