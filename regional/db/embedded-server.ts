/**
 * The embedded database in a process of its own, started by `embedded.ts`: PGlite holds
 * hundreds of MiB of WebAssembly memory and spends CPU on every write, which would otherwise
 * count against the gateway's own process. Serves one connection on a loopback port, prints
 * `{"url":…}` once it listens, and closes the database cleanly on SIGTERM or when its parent
 * goes away (its stdin closes). Run as `embedded-server <data dir>`.
 */
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: embedded-server <data dir>");
await mkdir(dataDir, { recursive: true });
const db = await PGlite.create(dataDir);
const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
await server.start();

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
}
process.once("SIGTERM", () => void stop());
// A terminal's Ctrl-C is the parent's to handle: it still writes while it drains, then stops this process.
process.on("SIGINT", () => {});
process.stdin.once("close", () => void stop()).resume();
process.stdout.write(`${JSON.stringify({ url: `postgres://postgres@${server.getServerConn()}/postgres` })}\n`);
