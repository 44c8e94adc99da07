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
 * A second fix: a new connection's array-type query (`fetch_types`) is started from the
 * message handler and its promise dropped, so a server that resets the connection during it
 * leaves an unhandled rejection (the connection's own error handling already fails what was
 * queued). The patch catches it there.
 *
 * And one addition: `sql.poolStats()`, the lengths of the pool's own queues (queries waiting
 * for a connection; connections busy, idle, connecting, reserved), which postgres.js keeps
 * but does not show; regional's metrics export them (regional/db/pool-stats.ts).
 *
 * Idempotent, fix by fix; leaves other versions alone and says so.
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

interface Fix {
  name: string;
  /** The code as 3.4.9 ships it, and how many times it must appear. */
  from: string;
  count: number;
  to: string;
}

const poolStats = [
  "    options,",
  `    poolStats: () => ({ waiting: queries.length, busy: busy.length + full.length, idle: open.length, connecting: connecting.length, reserved: reserved.length, max: connections.length }), // ${marker}: the queues, for metrics`,
  "    reserve,",
].join("\n");

/** What each file of the package gets. */
const fixesOf: Record<string, Fix[]> = {
  "connection.js": [
    {
      name: "nextWrite on a closed socket",
      from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
      count: 1,
      to: guard,
    },
    { name: "write timer reset", from: "    clearImmediate(nextWriteTimer)\n", count: 2, to: reset },
    {
      name: "array types query rejection",
      from: "        return fetchArrayTypes()\n",
      count: 1,
      to: `        return fetchArrayTypes().catch(() => {}) // ${marker}: a reset here fails the connection, not the process\n`,
    },
  ],
  "index.js": [{ name: "pool stats", from: "    options,\n    reserve,", count: 1, to: poolStats }],
};

function patch(file: string, fixes: Fix[]): string {
  let text = readFileSync(file, "utf8");
  const done: string[] = [];
  for (const fix of fixes) {
    if (text.includes(fix.to)) continue;
    if (text.split(fix.from).length !== fix.count + 1) return `left alone: not the code this patch knows (${fix.name})`;
    text = text.replaceAll(fix.from, fix.to);
    done.push(fix.name);
  }
  if (done.length === 0) return "already patched";
  writeFileSync(file, text);
  return `patched: ${done.join(", ")}`;
}

const version = existsSync(join(root, "package.json"))
  ? (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string }).version
  : undefined;
if (version !== "3.4.9") {
  process.stdout.write(
    `patch-postgres: postgres ${version ?? "not installed"}, not 3.4.9: nothing to do (check whether the nextWrite fix is still needed)\n`,
  );
} else {
  for (const dir of ["src", "cjs/src", "cf/src"]) {
    for (const [name, fixes] of Object.entries(fixesOf)) {
      const file = join(root, dir, name);
      if (existsSync(file)) process.stdout.write(`patch-postgres: ${dir}/${name} ${patch(file, fixes)}\n`);
    }
  }
}
