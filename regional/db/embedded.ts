import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** How long the database may take to close cleanly before its process is killed. */
const stopTimeoutMs = 10_000;

/**
 * Starts PGlite under `dataDir` in a child process (`embedded-server.ts`) serving it on a
 * loopback port, so the newcomer's default runs the same driver and SQL as production and
 * the gateway's own process weighs what it does in production. PGlite is a single session,
 * so the server takes one connection and the pool in front of it must hold one too.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const child = spawn(process.execPath, [...loaderArgs(), fileURLToPath(serverModule), dataDir], {
    // Its own process group: a terminal's Ctrl-C reaches the gateway only, which stops this child last.
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const url = await listeningUrl(child, exited);
    return { url, stop: () => stopChild(child, exited) };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

// Beside this module in the source; in the build (scripts/build.ts) an entry of its own next to
// main.js, one level above the chunk this module becomes.
const serverModule = import.meta.url.endsWith(".ts")
  ? new URL("./embedded-server.ts", import.meta.url)
  : new URL("../embedded-server.js", import.meta.url);

/** Run from source (tsx, tests), the child needs the TypeScript loader too. */
function loaderArgs(): string[] {
  if (!serverModule.pathname.endsWith(".ts")) return [];
  return ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];
}

async function listeningUrl(child: ChildProcess, exited: Promise<number | null>): Promise<string> {
  if (!child.stdout) throw new Error("embedded database: no stdout");
  const lines = createInterface({ input: child.stdout });
  const first = new Promise<string>((resolve) => lines.once("line", resolve));
  const line = await Promise.race([
    first,
    exited.then((code) => Promise.reject(new Error(`embedded database exited with ${code} while starting`))),
  ]);
  lines.close();
  const { url } = JSON.parse(line) as { url: string };
  return url;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await exited;
  clearTimeout(killer);
}
