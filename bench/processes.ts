import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/**
 * Child processes the bench starts. Each runs in its own process group so stopping it also
 * stops what it spawned (wrangler → workerd, tsx → node).
 */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** True once it exited or failed to start. */
  hasExited(): boolean;
  /** The last lines it wrote to stdout and stderr, for error messages. */
  recentOutput(): string;
  /** Resolves with the first output line matching `pattern`, rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM to the group, then SIGKILL to what is left of it after the leader exits or `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const running = new Set<ManagedProcess>();
const keptLines = 80;

export function startProcess(options: StartOptions): ManagedProcess {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const take = (line: string): void => {
    if (line.trim() === "") return;
    lines.push(line);
    if (lines.length > keptLines) lines.shift();
    for (const watcher of watchers) watcher(line);
  };
  const collector = (): ((chunk: Buffer) => void) => {
    let partial = "";
    return (chunk) => {
      const parts = (partial + chunk.toString("utf8")).split(/\r?\n/);
      partial = parts.pop() ?? "";
      parts.forEach(take);
    };
  };
  child.stdout?.on("data", collector());
  child.stderr?.on("data", collector());
  // A command that cannot start emits "error" and no "exit"; both end the process's life here.
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      take(`(exited with ${signal ?? `code ${code}`})`);
      hasExited = true;
      resolve();
    });
    child.once("error", (error) => {
      take(`failed to start ${options.command}: ${error.message}`);
      hasExited = true;
      resolve();
    });
  });

  const managed: ManagedProcess = {
    name: options.name,
    child,
    hasExited: () => hasExited,
    recentOutput: () => lines.join("\n"),
    waitForLine(pattern, timeoutMs) {
      for (const line of lines) {
        const match = line.match(pattern);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        let settled = false;
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          clearTimeout(timer);
          watchers.delete(watch);
          return true;
        };
        const watch = (line: string): void => {
          const match = line.match(pattern);
          if (match && settle()) resolve(match);
        };
        const timer = setTimeout(() => {
          if (settle()) reject(new Error(`${options.name} did not print ${pattern} within ${timeoutMs} ms:\n${managed.recentOutput()}`));
        }, timeoutMs);
        watchers.add(watch);
        void exited.then(() => {
          if (settle()) reject(new Error(`${options.name} exited before printing ${pattern}:\n${managed.recentOutput()}`));
        });
      });
    },
    async stop(graceMs = 5_000) {
      running.delete(managed);
      if (!hasExited) {
        signalGroup(child, "SIGTERM");
        await Promise.race([exited, delay(graceMs, undefined, { ref: false })]);
      }
      // Whatever is left of the group: all of it after the grace, or a straggling grandchild.
      signalGroup(child, "SIGKILL");
      await exited;
    },
  };
  running.add(managed);
  return managed;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Stops every process still running, newest first (edge before regional before upstream). */
export async function stopAll(): Promise<void> {
  for (const managed of [...running].reverse()) await managed.stop();
}

/** Last resort on exit, when nothing can be awaited any more. */
export function killAllNow(): void {
  for (const managed of running) signalGroup(managed.child, "SIGKILL");
  running.clear();
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

/** Polls `url` until it answers 200; fails early if the process exits. Returns how long that took. */
export async function waitForHttpOk(
  url: string,
  managed: ManagedProcess,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ attempts: number; elapsedMs: number }> {
  const started = Date.now();
  let lastProblem = "no answer yet";
  for (let attempts = 1; Date.now() - started < timeoutMs; attempts++) {
    if (managed.hasExited()) {
      throw new Error(`${managed.name} exited while starting:\n${managed.recentOutput()}`);
    }
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200) return { attempts, elapsedMs: Date.now() - started };
      lastProblem = `status ${response.status}: ${body.slice(0, 200)}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await delay(100);
  }
  throw new Error(`${managed.name} not ready at ${url} within ${timeoutMs} ms (${lastProblem}):\n${managed.recentOutput()}`);
}
