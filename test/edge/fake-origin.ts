/**
 * Vitest global setup for the edge project: a real HTTP server standing in for the
 * regional origin, so the Worker under test forwards over a real socket. Tests pick a
 * behaviour by path and hold or release its answers through `/__control/...`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import {
  bodyLengthHeader,
  sha256Hex,
  signatureHeader,
  streamedBodyDigest,
  timestampHeader,
  unknownBodyLength,
  verify,
  vouchedHeaders,
} from "../../shared/signing.ts";
import "./provided-context.ts";

const signingSecret = randomBytes(32).toString("base64url");

/** Key records by the key's hex SHA-256, as the regional tier's `/internal/keys/:sha256` serves them. */
const keyRecords = new Map<string, KeyRecord>();
/** How often the edge looked each key up here, by hash. */
const lookups = new Map<string, number>();
/** Requests that reached the origin, by the `x-test-calls` name they carried. */
const calls = new Map<string, number>();
/** What the edge posted to `/internal/incidents`, in order. */
const incidents: unknown[] = [];
/** How often the edge read `/internal/status` here. */
let statusReads = 0;
/** How often the edge read `/internal/prices` here, and whether it is answered 503 for now. */
let priceReads = 0;
let pricesFail = false;

/** A point where a request waits until the test releases it, named by an id from the test. */
interface Gate {
  arrived: Promise<void>;
  arrive: () => void;
  released: Promise<void>;
  release: () => void;
  closed: Promise<void>;
  close: () => void;
  /** Whether the origin's response was still unfinished when the test released it. */
  open: boolean;
}

const gates = new Map<string, Gate>();

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

function gate(id: string): Gate {
  let found = gates.get(id);
  if (!found) {
    const arrived = signal();
    const released = signal();
    const closed = signal();
    found = {
      arrived: arrived.promise,
      arrive: arrived.resolve,
      released: released.promise,
      release: released.resolve,
      closed: closed.promise,
      close: closed.resolve,
      open: false,
    };
    gates.set(id, found);
  }
  return found;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Whether the request carries a valid edge signature over this body (what the regional tier
 * checks): by its hash, or for an upload the edge streamed, by its signed length.
 */
async function signedByEdge(req: IncomingMessage, body: Buffer): Promise<boolean> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
  const signature = headers.get(signatureHeader);
  const timestamp = Number(headers.get(timestampHeader));
  if (!signature) return false;
  const streamedLength = headers.get(bodyLengthHeader);
  if (streamedLength !== null && streamedLength !== unknownBodyLength && Number(streamedLength) !== body.byteLength) return false;
  const parts = {
    method: req.method ?? "GET",
    pathAndQuery: req.url ?? "/",
    timestampS: timestamp,
    bodySha256: streamedLength === null ? await sha256Hex(body) : streamedBodyDigest,
    headers: vouchedHeaders(headers),
  };
  return await verify(signingSecret, parts, signature);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

type Route = (req: IncomingMessage, res: ServerResponse, id: string) => Promise<void> | void;

/** Headers, 80 KiB of a JSON error that never closes, and then silence until the connection goes. */
function endless(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.write(`{"error":{"code":"unavailable","message":"${"x".repeat(80 * 1024)}`);
}

const routes: Record<string, Route> = {
  /** Waits until the request with this id reached the origin. */
  "__control/arrived": async (_req, res, id) => {
    await gate(id).arrived;
    json(res, 200, { arrived: true });
  },

  /** Waits until the connection of the request with this id was closed. */
  "__control/closed": async (_req, res, id) => {
    await gate(id).closed;
    json(res, 200, { closed: true });
  },

  /** Lets the request with this id go on; tells whether its response was still unfinished. */
  "__control/release": (_req, res, id) => {
    const held = gate(id);
    held.release();
    json(res, 200, { open: held.open });
  },

  /** Registers or replaces a key record: `{ sha256, record }`. */
  "__control/keys": async (req, res) => {
    const { sha256, record } = JSON.parse((await readAll(req)).toString()) as { sha256: string; record: KeyRecord | null };
    if (record) keyRecords.set(sha256, record);
    else keyRecords.delete(sha256);
    json(res, 200, { ok: true });
  },

  /** How often the edge looked up the key with this hash. */
  "__control/lookups": (_req, res, sha256) => {
    json(res, 200, { lookups: lookups.get(sha256) ?? 0 });
  },

  /** How many requests carrying `x-test-calls: <name>` reached the origin. */
  "__control/calls": (_req, res, name) => {
    json(res, 200, { calls: calls.get(name) ?? 0 });
  },

  /** How often the edge read the price sheet so far. */
  "__control/price-reads": (_req, res) => {
    json(res, 200, { reads: priceReads });
  },

  /** Makes the price sheet answer 503 (`{"fail": true}`) or 200 again. */
  "__control/prices-fail": async (req, res) => {
    pricesFail = (JSON.parse((await readAll(req)).toString()) as { fail: boolean }).fail;
    json(res, 200, { ok: true });
  },

  /** What the edge posted to `/internal/incidents` so far. */
  "__control/incidents": (_req, res) => {
    json(res, 200, { incidents, status_reads: statusReads });
  },

  /**
   * Regional's status (`/internal/status`, `/internal/status/operator`), signed by the edge or
   * 401: the `mock` provider down since a fixed time, with its opening in the incidents.
   */
  "internal/status": async (req, res, view) => {
    if (!(await signedByEdge(req, await readAll(req)))) return json(res, 401, { error: { code: "invalid_signature" } });
    statusReads += 1;
    const at = new Date(Date.now() - 60_000).toISOString();
    const status = {
      object: "status",
      generated_at: new Date().toISOString(),
      status: "down",
      components: [
        { kind: "route", name: "chat-default", status: "degraded", since: at, note: "mock down" },
        { kind: "provider", name: "mock", status: "down", since: at, note: "circuit open" },
        { kind: "provider", name: "openai", status: "healthy", since: null, note: null },
      ],
      incidents: [{ at, tier: "regional", kind: "breaker_opened", subject: "mock", reason: "5 failures within 120 s", region: "test" }],
    };
    if (view !== "operator") return json(res, 200, status);
    json(res, 200, {
      object: "status.operator",
      generated_at: status.generated_at,
      region: "test",
      public: status,
      breakers: [],
      cool_downs: [],
      queues: null,
      capacity: [],
      database: { status: "ok", primary: { up: true, checked_at: null }, replicas: [] },
      redis: null,
      secrets: [],
      audit: {
        head_seq: null,
        head_hash: null,
        last_checkpoint_at: null,
        last_verification: null,
        writer: { queued: 0, journaled: 0, journal_bytes: 0, last_flush_at: null, failing: false },
      },
    });
  },

  /** Regional's incident intake: signed by the edge or 401; kept for `__control/incidents`. */
  "internal/incidents": async (req, res) => {
    const body = await readAll(req);
    if (!(await signedByEdge(req, body))) return json(res, 401, { error: { code: "invalid_signature" } });
    const posted = JSON.parse(body.toString()) as { incidents: unknown[] };
    incidents.push(...posted.incidents);
    json(res, 202, { accepted: posted.incidents.length });
  },

  /** Regional's price sheet: signed by the edge, or 401. Model `m` costs 1,000 USD per million input tokens and 2,000 per million output tokens. */
  "internal/prices": async (req, res) => {
    if (!(await signedByEdge(req, await readAll(req)))) return json(res, 401, { error: { code: "invalid_signature" } });
    priceReads += 1;
    if (pricesFail) return json(res, 503, { error: { code: "unavailable" } });
    json(res, 200, { models: { m: { input: 1_000, output: 2_000 } } });
  },

  /**
   * The regional tier's key lookup: signed by the edge, or 401. A lookup for request id
   * `endless-key-record` is answered with a body that never ends.
   */
  "internal/keys": async (req, res, sha256) => {
    if (!(await signedByEdge(req, await readAll(req)))) return json(res, 401, { error: { code: "invalid_signature" } });
    if (req.headers["x-request-id"] === "endless-key-record") return endless(res, 200);
    lookups.set(sha256, (lookups.get(sha256) ?? 0) + 1);
    const record = keyRecords.get(sha256);
    if (record) json(res, 200, record);
    else json(res, 404, { error: { code: "not_found" } });
  },

  /** Answers with what the origin received, and whether the edge's signature holds. */
  "v1/echo": async (req, res) => {
    const body = await readAll(req);
    json(res, 200, {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: body.toString(),
      signed: await signedByEdge(req, body),
    });
  },

  /**
   * A chat completion: JSON, or SSE when the body asks to stream, reporting the usage the
   * test sent in `x-test-usage` (in a usage chunk only when asked for, as OpenAI does).
   * `x-test-status` makes it fail instead; `x-test-hold: <id>` holds a stream after its
   * first content until the test releases it or hangs up; `x-test-break` then drops the
   * connection instead of finishing (`mid-event`: after half an event).
   * `x-test-hold-headers: <id>` holds even the headers until released or hung up on.
   * `x-test-cost` is the cost regional reports: the `x-breakwater-cost-usd` header on JSON, the
   * closing comment on a stream. A JSON answer says what `x-breakwater-budget-crossed` came, and
   * whether it was signed.
   */
  "v1/chat": async (req, res) => {
    const raw = await readAll(req);
    const body = JSON.parse(raw.toString() || "{}") as {
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      max_tokens?: number;
    };
    const holdHeaders = req.headers["x-test-hold-headers"];
    if (typeof holdHeaders === "string") {
      const held = gate(holdHeaders);
      held.open = true;
      res.on("close", () => {
        held.open = false;
        held.close();
      });
      held.arrive();
      await held.released;
      if (!held.open) return;
    }
    const status = Number(req.headers["x-test-status"] ?? 200);
    if (status !== 200)
      return json(res, status, {
        error: { message: "failed as asked", type: "upstream_error", code: "upstream_error", param: null, request_id: null },
      });
    const total = Number(req.headers["x-test-usage"] ?? 0);
    const usage = { prompt_tokens: Math.floor(total / 2), completion_tokens: total - Math.floor(total / 2), total_tokens: total };
    const cost = req.headers["x-test-cost"];
    const crossed = req.headers["x-breakwater-budget-crossed"];
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const chunk = (delta: Record<string, unknown>) =>
      event({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] });
    if (!body.stream)
      return json(
        res,
        200,
        {
          id: "c1",
          object: "chat.completion",
          created: 1,
          model: "m",
          choices: [],
          usage,
          stream_options: body.stream_options ?? null,
          max_tokens: body.max_tokens ?? null,
          budget_crossed: typeof crossed === "string" ? { value: crossed, signed: await signedByEdge(req, raw) } : null,
        },
        typeof cost === "string" ? { "x-breakwater-cost-usd": cost } : {},
      );
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(chunk({ role: "assistant", content: "" }));
    res.write(chunk({ content: "twelve chars" }));
    const hold = req.headers["x-test-hold"];
    if (typeof hold === "string") {
      const held = gate(hold);
      held.open = true;
      res.on("close", () => held.close());
      held.arrive();
      await held.released;
    }
    // Written out before the connection drops, so the edge really holds half an event.
    if (req.headers["x-test-break"] === "mid-event")
      return void res.write('data: {"id":"c1","object":"chat.completion.chu', () => res.destroy());
    if (req.headers["x-test-break"]) return void res.destroy();
    res.write(
      event({
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      }),
    );
    if (body.stream_options?.include_usage)
      res.write(event({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage }));
    if (typeof cost === "string") res.write(`: x-breakwater-cost-usd=${cost}\n\n`);
    res.end("data: [DONE]\n\n");
  },

  /**
   * Embeddings: each answer numbered (`served`), so a test tells a cached one from a new one.
   * `x-test-hold: <id>` holds the answer until the test releases it; then `x-test-status`
   * fails it (marked `x-breakwater-degraded` with `x-test-degraded`), `x-test-reset` drops the connection.
   */
  "v1/embeddings": async (req, res) => {
    const body = (await readAll(req)).toString();
    const hold = req.headers["x-test-hold"];
    if (typeof hold === "string") {
      const held = gate(hold);
      held.arrive();
      await held.released;
    }
    if (req.headers["x-test-reset"]) return void req.socket.destroy();
    const status = Number(req.headers["x-test-status"] ?? 200);
    const degraded = req.headers["x-test-degraded"];
    if (status !== 200)
      return json(
        res,
        status,
        { error: { message: "failed as asked", type: "upstream_error", code: "upstream_error", param: null, request_id: null } },
        typeof degraded === "string" ? { "x-breakwater-degraded": degraded } : {},
      );
    served += 1;
    const usage = { prompt_tokens: 4, total_tokens: 4 };
    json(
      res,
      200,
      { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }], model: "m", usage, served, request: body },
      { "x-breakwater-provider": "fake" },
    );
  },

  /**
   * The Responses API: JSON, or its typed SSE events when asked to stream, with the usage
   * `x-test-usage` gives in `response.completed`; every answer says whether the body it got
   * carried `stream_options` (the API has none: the edge must not add it).
   */
  "v1/responses": async (req, res) => {
    const body = JSON.parse((await readAll(req)).toString() || "{}") as { stream?: boolean; stream_options?: unknown };
    const total = Number(req.headers["x-test-usage"] ?? 0);
    const usage = { input_tokens: Math.floor(total / 2), output_tokens: total - Math.floor(total / 2) };
    const response = { id: "r1", object: "response", status: "completed", stream_options_sent: "stream_options" in body };
    if (!body.stream) return json(res, 200, { ...response, usage: { ...usage, total_tokens: total } });
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(event("response.created", { response: { ...response, status: "in_progress" } }));
    res.write(event("response.output_text.delta", { delta: "twelve chars" }));
    res.end(event("response.completed", { response: { ...response, usage } }));
  },

  /** Legacy completions: JSON, or chunks with `text` and, when asked, a usage chunk (`x-test-usage`). */
  "v1/completions": async (req, res) => {
    const body = JSON.parse((await readAll(req)).toString() || "{}") as { stream?: boolean; stream_options?: { include_usage?: boolean } };
    const total = Number(req.headers["x-test-usage"] ?? 0);
    const usage = { prompt_tokens: Math.floor(total / 2), completion_tokens: total - Math.floor(total / 2), total_tokens: total };
    if (!body.stream) return json(res, 200, { id: "c1", object: "text_completion", choices: [{ index: 0, text: "ok" }], usage });
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(event({ id: "c1", object: "text_completion", choices: [{ index: 0, text: "twelve chars", finish_reason: "stop" }] }));
    if (body.stream_options?.include_usage) res.write(event({ id: "c1", object: "text_completion", choices: [], usage }));
    res.end("data: [DONE]\n\n");
  },

  /**
   * Audio. `/v1/audio/speech`: 8 KiB of audio, then the connection breaks. `/v1/audio/transcriptions`:
   * what arrived (size, SHA-256, type, declared length, signed?) as a transcription with its usage.
   */
  "v1/audio": async (req, res, endpoint) => {
    const body = await readAll(req);
    if (endpoint === "speech") {
      res.writeHead(200, { "content-type": "audio/mpeg" });
      res.write(Buffer.alloc(4096, 1));
      return void res.write(Buffer.alloc(4096, 2), () => res.destroy());
    }
    json(res, 200, {
      text: "heard",
      bytes: body.byteLength,
      sha256: createHash("sha256").update(body).digest("hex"),
      type: req.headers["content-type"] ?? null,
      length: req.headers["content-length"] ?? null,
      signed: await signedByEdge(req, body),
      usage: { type: "tokens", input_tokens: 7, output_tokens: 3, total_tokens: 10 },
    });
  },

  /** The model list, numbered like embeddings. */
  "v1/models": (_req, res) => {
    served += 1;
    json(res, 200, { object: "list", data: [{ id: "mock/echo", object: "model", created: 1, owned_by: "mock" }], served });
  },

  /** GPU offers (`/v1/gpu/offers`), echoing the query, numbered like embeddings. */
  "v1/gpu": (req, res) => {
    served += 1;
    json(res, 200, { object: "list", data: [], query: new URL(req.url ?? "/", "http://origin.test").search, served });
  },

  /** Echoes a request body whose first bytes it reports as arrived before the body ends. */
  "v1/upload": async (req, res, id) => {
    const held = gate(id);
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
      held.arrive();
    }
    json(res, 200, { body: Buffer.concat(chunks).toString() });
  },

  /** Answers with hop-by-hop headers next to end-to-end ones. */
  "v1/hop-by-hop": (_req, res) => {
    res.writeHead(200, {
      "content-type": "text/plain",
      connection: "keep-alive, x-origin-hop",
      "keep-alive": "timeout=5",
      "proxy-authenticate": "Basic",
      "x-origin-hop": "1",
      "x-end-to-end": "1",
    });
    res.end("ok");
  },

  /** Sends headers and a first event, then holds the rest until the test releases it. */
  "v1/stream": async (_req, res, id) => {
    const held = gate(id);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("data: first\n\n");
    held.open = true;
    held.arrive();
    await held.released;
    res.end("data: second\n\n");
    held.open = false;
  },

  /** Holds even the response headers until the test releases them or the caller gives up. */
  "v1/hang": async (_req, res, id) => {
    const held = gate(id);
    held.open = true;
    res.on("close", () => {
      held.open = false;
      held.close();
    });
    held.arrive();
    await held.released;
    if (held.open) json(res, 200, { late: true });
  },

  /** Drops the connection without answering. */
  "v1/reset": (req) => {
    req.socket.destroy();
  },

  /** Fails the way the regional service does when it is overloaded. */
  "v1/overloaded": (_req, res) => {
    json(
      res,
      503,
      { error: { message: "busy", type: "service_unavailable", code: "unavailable", param: null, request_id: "regional" } },
      { "retry-after": "7" },
    );
  },

  /** Fails the way a broken regional service does (its own fault, not a provider's): 500 `internal_error`. */
  "v1/origin-error": (_req, res) => {
    json(res, 500, {
      error: { message: "Internal error.", type: "server_error", code: "internal_error", param: null, request_id: "regional" },
    });
  },

  /** A JSON 5xx sent chunked (no Content-Length) that never ends: more than any error body, and then nothing. */
  "v1/endless-error": (_req, res) => endless(res, 503),

  /** Redirects; a proxy passes redirects on rather than following them. */
  "v1/redirect": (_req, res) => {
    res.writeHead(307, { location: "/v1/echo" });
    res.end();
  },
};

/** Answers served by the numbered routes, in order. */
let served = 0;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? "/", "http://origin.test");
  const counted = req.headers["x-test-calls"];
  if (typeof counted === "string") calls.set(counted, (calls.get(counted) ?? 0) + 1);
  const [, first = "", second = "", id = ""] = pathname.split("/");
  const route = routes[`${first}/${second}`];
  if (route) return await route(req, res, id);
  json(res, 404, { error: { message: `The fake origin has no ${pathname}.` } });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("originPort", (server.address() as AddressInfo).port);
  project.provide("signingSecret", signingSecret);
  project.provide("defaultApiKey", await defaultKey());

  return async () => {
    for (const held of gates.values()) held.release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A key every test may use: its limits are out of reach, so tests about something else never see 429. */
async function defaultKey(): Promise<string> {
  const key = `bw_${randomBytes(24).toString("base64url").slice(0, 32)}`;
  const unlimited = { rpm: 1_000_000_000, tpm: 1_000_000_000 };
  keyRecords.set(await sha256Hex(key), {
    key_id: "default-key",
    tenant_id: "default-tenant",
    prefix: key.slice(0, 11),
    status: "active",
    limits: unlimited,
    tenant_limits: unlimited,
    budgets: [],
  });
  return key;
}
