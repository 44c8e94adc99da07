/**
 * Runs after `npm install`: fixes a crash in postgres.js 3.4.9 until a release carries the fix
 * (upstream issues porsager/postgres#1154, #1208; pull requests #1168, #1209).
 *
 * When Postgres closes a connection while a small write waits for `setImmediate`, the write
 * then runs on a null socket and throws from a timer: an uncatchable TypeError that ends
 * the whole process. Any primary crash or failover under load does it. The cleared timer
 * is also never reset, so a pooled connection that survives can never send again and its
 * queries hang. The patch settles such a write with CONNECTION_CLOSED instead, and resets
 * the timer and the pending bytes when the socket goes.
 *
 * Idempotent; leaves other versions alone and says so.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../node_modules/postgres");
const marker = "breakwater patch";
const guard = [
  "  function nextWrite(fn) {",
  `    if (!socket) { // ${marker}: the connection closed before this deferred write ran`,
  "      chunk = nextWriteTimer = null",
  "      error(Errors.connection('CONNECTION_CLOSED', options))",
  "      return false",
  "    }",
  "    const x = socket.write(chunk, fn)",
].join("\n");
const reset = `    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null // ${marker}: nothing of a closed socket may block or precede later writes\n`;

function patch(file: string): string {
  const text = readFileSync(file, "utf8");
  if (text.includes(marker)) return "already patched";
  const unguarded = "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)";
  const cleared = "    clearImmediate(nextWriteTimer)\n";
  if (!text.includes(unguarded) || text.split(cleared).length !== 3) return "left alone: not the code this patch knows";
  writeFileSync(file, text.replace(unguarded, guard).replaceAll(cleared, reset));
  return "patched";
}

const version = existsSync(join(root, "package.json")) ? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version : undefined;
if (version !== "3.4.9") {
  process.stdout.write(`patch-postgres: postgres ${version ?? "not installed"}, not 3.4.9: nothing to do (check whether the nextWrite fix is still needed)\n`);
} else {
  for (const dir of ["src", "cjs/src", "cf/src"]) {
    const file = join(root, dir, "connection.js");
    if (existsSync(file)) process.stdout.write(`patch-postgres: ${dir}/connection.js ${patch(file)}\n`);
  }
}
