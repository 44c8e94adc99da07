import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createTunedServer } from "./tuned-server.ts";
import { answer, completion, embeddings, errorBody, modelList, modelOf, readChat, streamOf } from "./openai-wire.ts";
import type { Endpoint, Records, RequestRecord } from "./records.ts";
import type { FaultRule } from "./rules.ts";
import type { Scripts } from "./scripts.ts";
import { streamAnswer } from "./stream-answer.ts";
import { sleep, untilGone } from "./wait.ts";

export interface ProviderOptions {
  name: string;
  /** What `GET /v1/models` lists; any model name is served all the same. */
  models: string[];
  scripts: Scripts;
  records: Records;
  now: () => number;
}

const endpoints: Record<string, Endpoint> = {
  "POST /v1/chat/completions": "chat",
  "POST /v1/embeddings": "embeddings",
  "GET /v1/models": "models",
};

const healthy: FaultRule = {};

/**
 * One named provider speaking OpenAI's API, answering each chat or embeddings call as the
 * next rule of its provider/model script says. `GET /v1/models` names no model, so no
 * script applies to it. Every request is recorded, with when the client left.
 */
export function createProviderServer(options: ProviderOptions): Server {
  return createTunedServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      // A bug here must show in the process's output, and the client must not wait forever.
      console.error(`fault-upstream ${options.name}:`, error);
      response.destroy();
    });
  });
}

async function handle(options: ProviderOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { now } = options;
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const endpoint = endpoints[`${request.method} ${path}`] ?? "other";
  const { traceparent, tracestate } = request.headers;
  const record = options.records.open(options.name, request.method ?? "", path, endpoint, now(), {
    traceparent: typeof traceparent === "string" ? traceparent : undefined,
    tracestate: typeof tracestate === "string" ? tracestate : undefined,
  });
  const signal = watchClient(record, response, now);

  const body = await readBody(request);
  if (body === undefined) return;
  record.bodyBytes = body.length;
  const json = parseJson(body);
  record.model = modelOf(json);
  record.stream = endpoint === "chat" && streamOf(json);

  if (endpoint === "models") return send(response, record, 200, modelList(options.models, Math.floor(now() / 1000)), now);
  if (endpoint === "other")
    return send(
      response,
      record,
      404,
      errorBody(404, { message: `fault-upstream: no route for ${request.method} ${path}`, code: "not_found" }),
      now,
    );

  const rule = options.scripts.next(options.name, record.model) ?? healthy;
  record.rule = rule === healthy ? null : rule;
  if (!(await sleep(rule.latencyMs ?? 0, signal))) return;
  if (rule.reset) {
    record.outcome = "reset";
    request.socket.resetAndDestroy();
    return;
  }
  if (rule.hang) {
    await untilGone(signal);
    return;
  }
  if (rule.status !== undefined) {
    const headers: Record<string, string> = rule.retryAfter === undefined ? {} : { "retry-after": String(rule.retryAfter) };
    return send(response, record, rule.status, errorBody(rule.status, rule), now, headers);
  }

  if (endpoint === "embeddings") {
    const result = embeddings(json);
    if (typeof result === "string") return send(response, record, 400, errorBody(400, { message: result }), now);
    return sendLater(response, record, result, rule.firstTokenDelayMs ?? 0, signal, now);
  }
  const chat = readChat(json);
  if (typeof chat === "string") return send(response, record, 400, errorBody(400, { message: chat }), now);
  if (rule.rejectPrefill && chat.prefill !== undefined) {
    return send(
      response,
      record,
      400,
      errorBody(400, { message: "This model does not support assistant message prefill. The conversation must end with a user message." }),
      now,
    );
  }
  const reply = answer(
    options.name,
    chat,
    `chatcmpl-${randomUUID().replaceAll("-", "")}`,
    Math.floor(now() / 1000),
    rule.tokens,
    rule.text,
  );
  if (!chat.stream) return sendLater(response, record, completion(reply), rule.firstTokenDelayMs ?? 0, signal, now);
  await streamAnswer(response, record, rule, reply, chat.includeUsage, signal, now);
}

/**
 * Records how the response ends and answers a signal that aborts when the connection
 * closes first: what lets a test ask whether, and how soon, a cancel reached the upstream.
 */
function watchClient(record: RequestRecord, response: ServerResponse, now: () => number): AbortSignal {
  const gone = new AbortController();
  response.on("finish", () => {
    if (record.outcome !== "pending") return;
    record.outcome = "completed";
    record.completedAt = now();
  });
  response.on("close", () => {
    if (record.outcome === "pending") {
      record.outcome = "client-gone";
      record.clientGoneAt = now();
    }
    gone.abort();
  });
  // Writes racing a hang-up fail; the close above already tells the story.
  response.on("error", () => {});
  return gone.signal;
}

/** The whole body, or undefined when the client left before sending it. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  try {
    for await (const part of request) parts.push(part as Buffer);
  } catch {
    return undefined;
  }
  return Buffer.concat(parts);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function send(
  response: ServerResponse,
  record: RequestRecord,
  status: number,
  body: unknown,
  now: () => number,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  record.status = status;
  record.headersAt = now();
  response.end(text);
}

/** A plain answer whose headers go out at once and whose body follows after `delayMs`. */
async function sendLater(
  response: ServerResponse,
  record: RequestRecord,
  body: unknown,
  delayMs: number,
  signal: AbortSignal,
  now: () => number,
): Promise<void> {
  if (delayMs <= 0) return send(response, record, 200, body, now);
  const text = JSON.stringify(body);
  response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.flushHeaders();
  record.status = 200;
  record.headersAt = now();
  if (await sleep(delayMs, signal)) response.end(text);
}
