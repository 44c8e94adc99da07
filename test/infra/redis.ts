import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { logTail } from "./log-tail.ts";
import { killRecorded, markOwner, sweepStaleDirs } from "./stale-dirs.ts";
import { waitUntil } from "./wait-until.ts";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding the server's working dir and `redis.log`. */
  readonly dir: string;
  logTail(lines?: number): Promise<string>;
  /** Terminates the server and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** redis-server binary; default `redis-server` from PATH. */
  bin?: string;
}

const DIR_PREFIX = "breakwater-redis-";
const PID_FILE = "redis-server.pid";

/** A throwaway, memory-only redis-server on a free port of 127.0.0.1. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? "redis-server";
  await sweepStaleDirs(DIR_PREFIX, killStale);
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await markOwner(dir);
  const log = join(dir, "redis.log");

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnRedis(bin, port, dir, log);
    // Listen before any await, or an early 'error'/'exit' goes unseen; mark it handled because
    // it may reject before the race below subscribes (and again on a normal stop).
    const failed = failure(child);
    failed.catch(() => {});
    await writeFile(join(dir, PID_FILE), `${child.pid ?? ""}\n${port}\n`);
    live.set(dir, child);
    installExitHook();
    const stop = async (): Promise<void> => {
      if (!live.has(dir)) return;
      await terminate(child);
      await rm(dir, { recursive: true, force: true });
      live.delete(dir);
    };
    const ready = new AbortController();
    try {
      await Promise.race([
        waitUntil(`redis-server on port ${port} to answer PING`, async () => await ping(port), {
          timeoutMs: 10_000,
          intervalMs: 10,
          signal: ready.signal,
        }),
        failed,
      ]);
      return { url: `redis://127.0.0.1:${port}`, port, dir, logTail: async (lines) => await logTail(log, lines), stop };
    } catch (error) {
      ready.abort();
      const tail = await logTail(log);
      await terminate(child);
      live.delete(dir);
      // Someone took the port between freePort() and the bind: try another one.
      if (attempt < 3 && /already in use/i.test(tail)) continue;
      await rm(dir, { recursive: true, force: true });
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n--- redis log (${log}) ---\n${tail}`);
    }
  }
}

/** Kills the redis-server of a dead run; its title is `redis-server 127.0.0.1:<port>`. */
function killStale(dir: string): void {
  const pidFile = join(dir, PID_FILE);
  const port = readFileSync(pidFile, "utf8").split("\n")[1];
  if (port) killRecorded(pidFile, `127.0.0.1:${port}`, "SIGKILL");
}

/** Rejects when the server cannot be spawned or exits; never resolves otherwise. */
function failure(child: ChildProcess): Promise<never> {
  return new Promise((_, reject) => {
    child.once("error", (error) => reject(new Error(`cannot run redis-server: ${error.message}`)));
    child.once("exit", (code, signal) => reject(new Error(`redis-server exited early (code ${code}, signal ${signal})`)));
  });
}

function spawnRedis(bin: string, port: number, dir: string, log: string): ChildProcess {
  const fd = openSync(log, "a");
  try {
    const child = spawn(
      bin,
      [
        "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
      ],
      { stdio: ["ignore", fd, fd] },
    );
    child.on("error", () => {}); // reported through failure()
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** One PING over a raw socket: true on +PONG, false on anything else. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

// --- last-resort cleanup when the process exits without calling stop() ---

const live = new Map<string, ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [dir, child] of live) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
