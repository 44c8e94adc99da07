import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { createPreciseSleeper, type PreciseSleeper } from "./precise-sleep.ts";

/**
 * The "direct upstream" of the benchmark: a minimal OpenAI-compatible server that answers
 * every chat completion after a fixed added latency, so each gateway tier's overhead is the
 * difference between calling it directly and calling it through the tier.
 */
export interface MockUpstreamOptions {
  /** Delay before the answer (non-stream) or the first chunk (stream). */
  latencyMs: number;
  /** Delay between stream chunks after the first; 0 writes them back to back. */
  chunkIntervalMs?: number;
}

interface ChatRequestBody {
  model: string;
  prompt: string;
  stream: boolean;
  includeUsage: boolean;
}

const completionWords = ["Hello", " from", " the", " bench", " upstream", "."];
const completionText = completionWords.join("");
const completionTokens = completionWords.length;

export function createMockUpstream(options: MockUpstreamOptions): Server {
  const sleeper = createPreciseSleeper();
  const server = createServer((req, res) => {
    handle(req, res, options, sleeper).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(String(error), "server_error"));
      else res.destroy();
    });
  });
  // Gateways pool their upstream connections; outlive their idle timeouts so a pooled
  // socket is never closed under a request in flight.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("close", () => void sleeper.close());
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: MockUpstreamOptions, sleeper: PreciseSleeper): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && path === "/v1/models") {
    sendJson(res, 200, { object: "list", data: [{ id: "bench-model", object: "model", created: 0, owned_by: "bench" }] });
    return;
  }
  if (req.method !== "POST" || path !== "/v1/chat/completions") {
    sendJson(res, 404, errorBody(`No route for ${req.method ?? "?"} ${path ?? "/"}`, "invalid_request_error"));
    return;
  }
  if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
    await readBody(req);
    sendJson(res, 401, errorBody("Missing bearer API key", "invalid_request_error"));
    return;
  }
  const body = parseChatRequest(await readBody(req));
  if (typeof body === "string") {
    sendJson(res, 400, errorBody(body, "invalid_request_error"));
    return;
  }
  if (body.stream) await stream(res, body, options, sleeper);
  else {
    await sleeper.sleep(options.latencyMs);
    sendJson(res, 200, completion(body));
  }
}

async function stream(res: ServerResponse, body: ChatRequestBody, options: MockUpstreamOptions, sleeper: PreciseSleeper): Promise<void> {
  // Headers go out at once, like real providers; time to first byte is the first chunk.
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  await sleeper.sleep(options.latencyMs);
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finishReason: string | null): object => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: body.model,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...(body.includeUsage ? { usage: null } : {}),
  });
  const events: object[] = [
    chunk({ role: "assistant", content: "" }, null),
    ...completionWords.map((word) => chunk({ content: word }, null)),
    chunk({}, "stop"),
  ];
  if (body.includeUsage) {
    events.push({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage: usage(body) });
  }
  for (const [index, event] of events.entries()) {
    if (index > 0 && (options.chunkIntervalMs ?? 0) > 0) await sleeper.sleep(options.chunkIntervalMs ?? 0);
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  }
  res.end("data: [DONE]\n\n");
}

function completion(body: ChatRequestBody): object {
  return {
    id: completionId(),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: completionText, refusal: null },
        finish_reason: "stop",
        logprobs: null,
      },
    ],
    usage: usage(body),
    system_fingerprint: null,
  };
}

function usage(body: ChatRequestBody): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  // Roughly four characters per token, as OpenAI's own rule of thumb.
  const promptTokens = Math.max(1, Math.ceil(body.prompt.length / 4));
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** Returns the fields the mock needs, or an error message. */
function parseChatRequest(raw: string): ChatRequestBody | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return "Request body is not valid JSON";
  }
  if (!isRecord(parsed)) return "Request body must be a JSON object";
  const { model, messages, stream, stream_options: streamOptions } = parsed;
  if (typeof model !== "string" || model === "") return "model is required";
  if (!Array.isArray(messages) || messages.length === 0) return "messages must be a non-empty array";
  const prompt = messages.map((message) => (isRecord(message) && typeof message.content === "string" ? message.content : "")).join("\n");
  const includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true;
  return { model, prompt, stream: stream === true, includeUsage };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorBody(message: string, type: string): object {
  return { error: { message, type, code: null, param: null } };
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function completionId(): string {
  return `chatcmpl-bench${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * Run on its own (`node --import tsx bench/mock-upstream.ts`) so the load generator and the
 * upstream do not share an event loop. Reads MOCK_PORT, MOCK_LATENCY_MS, MOCK_CHUNK_INTERVAL_MS
 * and prints `listening <port>` once it accepts connections.
 */
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createMockUpstream({
    latencyMs: Number(process.env.MOCK_LATENCY_MS ?? 2),
    chunkIntervalMs: Number(process.env.MOCK_CHUNK_INTERVAL_MS ?? 0),
  });
  server.listen(Number(process.env.MOCK_PORT ?? 0), process.env.MOCK_HOST ?? "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    console.log(`listening ${port}`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
