import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Redis } from "ioredis";

/**
 * An HTTP server speaking the Upstash Redis REST protocol (what `@upstash/redis` sends),
 * backed by a real redis-server:
 *
 * - `POST /` with `["CMD", ...args]` → `{"result": ...}`, or 400 `{"error": "..."}`
 * - `POST /pipeline` with `[[...], [...]]` → `[{"result": ...} | {"error": "..."}, ...]`
 * - `POST /multi-exec` the same, atomically (MULTI/EXEC); a discarded transaction → 400 `{"error"}`
 * - `GET|POST /cmd/arg1/arg2?EX=10` path-style commands; a POST body becomes the last argument
 * - `Authorization: Bearer <token>` or `?_token=` required, else 401
 * - `Upstash-Encoding: base64`: every string in the result is base64 of the raw bytes, except
 *   a top-level "OK" (the client's decoder expects exactly that). Without it, strings are UTF-8.
 */
export interface UpstashShimOptions {
  redisUrl: string;
  token: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
}

export interface UpstashShim {
  /** `http://127.0.0.1:<port>`: pass as `url` to `new Redis({ url, token })` from `@upstash/redis`. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  /** Closes the HTTP server (and its keep-alive connections) and the Redis connection. */
  stop(): Promise<void>;
}

type Json = null | number | string | Json[];
type Command = [name: string, ...args: string[]];

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const OK = Buffer.from("OK");

/** Commands that would change or wedge the one connection all requests share. */
const UNSUPPORTED = new Set([
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "multi", "exec", "discard", "watch", "unwatch", "select", "swapdb", "quit", "reset", "hello", "auth",
  "client", "sync", "psync", "replicaof", "slaveof", "shutdown", "debug",
]);
/** Blocking commands run on a connection of their own so they do not stall everyone else. */
const BLOCKING = new Set([
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof",
]);

// Through Node's own require: the edge project's loader (vitest-plugin) inlines packages, and
// a CommonJS package evaluated by both it and Node in one process breaks (and has no named
// exports there). Node's require cache keeps it to one evaluation.
const IORedis = createRequire(import.meta.url)("ioredis") as typeof import("ioredis").Redis;

class BadRequest extends Error {}

export async function startUpstashShim(options: UpstashShimOptions): Promise<UpstashShim> {
  // RESP2 like Upstash's REST API; upper-case command names below keep ioredis' reply
  // transformers (HGETALL → object, ...) out of the way, so replies reach us raw.
  const redis = new IORedis(options.redisUrl, {
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: false,
  });
  redis.on("error", () => {}); // surfaced per request instead
  await redis.connect();

  const server = createServer((req, res) => {
    handle(redis, options.token, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `ERR shim: ${messageOf(error)}` });
      else res.destroy();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("shim has no port"));
      else resolve(address.port);
    });
  });

  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      redis.disconnect();
    },
  };
}

async function handle(redis: Redis, token: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://shim");
  if (!authorized(req, url, token)) {
    send(res, 401, { error: "Unauthorized" });
    return;
  }
  const method = req.method ?? "GET";
  if (!["GET", "HEAD", "POST", "PUT"].includes(method)) {
    send(res, 405, { error: "ERR method not allowed" });
    return;
  }
  const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  const path = url.pathname.replace(/\/+$/, "");
  try {
    const body = await readBody(req);
    if (path === "") {
      const outcome = await single(redis, parseCommand(parseJson(body)));
      if ("error" in outcome) send(res, 400, outcome);
      else send(res, 200, { result: encode(outcome.result, base64, true) });
    } else if (path === "/pipeline" || path === "/multi-exec") {
      const commands = parseCommands(parseJson(body));
      const outcomes = path === "/pipeline" ? await pipeline(redis, commands) : await transaction(redis, commands);
      if (!Array.isArray(outcomes)) send(res, 400, outcomes);
      else send(res, 200, outcomes.map((o) => ("error" in o ? o : { result: encode(o.result, base64, true) })));
    } else {
      const outcome = await single(redis, pathCommand(url, body));
      if ("error" in outcome) send(res, 400, outcome);
      else send(res, 200, { result: encode(outcome.result, base64, true) });
    }
  } catch (error) {
    if (error instanceof BadRequest) send(res, 400, { error: error.message });
    else throw error;
  }
}

type Outcome = { result: unknown } | { error: string };

async function single(redis: Redis, command: Command): Promise<Outcome> {
  const conn = BLOCKING.has(command[0].toLowerCase()) ? redis.duplicate() : redis;
  try {
    return { result: await conn.callBuffer(...command) };
  } catch (error) {
    return replyError(error);
  } finally {
    if (conn !== redis) conn.disconnect();
  }
}

async function pipeline(redis: Redis, commands: Command[]): Promise<Outcome[]> {
  const blocking = commands.some((command) => BLOCKING.has(command[0].toLowerCase()));
  const conn = blocking ? redis.duplicate() : redis;
  try {
    const batch = conn.pipeline();
    for (const command of commands) batch.callBuffer(...command);
    return toOutcomes(await batch.exec());
  } finally {
    if (conn !== redis) conn.disconnect();
  }
}

async function transaction(redis: Redis, commands: Command[]): Promise<Outcome[] | { error: string }> {
  const batch = redis.multi();
  for (const command of commands) batch.callBuffer(...command);
  try {
    return toOutcomes(await batch.exec());
  } catch (error) {
    // EXECABORT: a command was rejected while queueing, so none ran.
    const previous = (error as { previousErrors?: unknown[] }).previousErrors;
    const detail = Array.isArray(previous) && previous.length > 0 ? `: ${previous.map(messageOf).join("; ")}` : "";
    return replyError(error, detail);
  }
}

function toOutcomes(results: [error: Error | null, result: unknown][] | null): Outcome[] {
  if (results === null) throw new Error("transaction aborted");
  return results.map(([error, result]) => (error ? replyError(error) : { result }));
}

/** Redis' own error replies become `{error}`; anything else (connection lost, ...) is a shim failure. */
function replyError(error: unknown, detail = ""): { error: string } {
  if (error instanceof Error && error.name === "ReplyError") return { error: `${error.message}${detail}` };
  throw error;
}

/** Upstash JSON for a raw ioredis reply (Buffers, integers, nulls, nested arrays). */
function encode(reply: unknown, base64: boolean, topLevel: boolean): Json {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64, false));
  if (reply instanceof Error) return encode(Buffer.from(reply.message), base64, false);
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply));
  if (!base64) return bytes.toString("utf8");
  // @upstash/redis passes a top-level "OK" through untouched but base64-decodes every string
  // inside arrays (a raw "OK" there would decode to garbage).
  if (topLevel && bytes.equals(OK)) return "OK";
  return bytes.toString("base64");
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1] === token || url.searchParams.get("_token") === token;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequest("ERR failed to parse command");
  }
}

function parseCommands(value: unknown): Command[] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest("ERR expected a non-empty array of commands");
  return value.map(parseCommand);
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest("ERR expected a command as a JSON array");
  return checked(value.map(toArg));
}

function pathCommand(url: URL, body: Buffer): Command {
  const parts = url.pathname.split("/").filter((part) => part !== "").map((part) => decodeURIComponent(part));
  if (body.length > 0) parts.push(body.toString("utf8"));
  for (const [key, value] of url.searchParams) {
    if (key === "_token") continue;
    parts.push(key);
    if (value !== "") parts.push(value);
  }
  return checked(parts);
}

function checked(parts: string[]): Command {
  const [name, ...args] = parts;
  if (name === undefined || name === "") throw new BadRequest("ERR empty command");
  if (UNSUPPORTED.has(name.toLowerCase())) throw new BadRequest(`ERR command '${name}' is not supported by the Upstash shim`);
  return [name.toUpperCase(), ...args];
}

function toArg(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("ERR max request size exceeded");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
