import { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import type { AppEnv } from "../../regional/http/context.ts";
import { errorHandler } from "../../regional/http/errors.ts";
import type { Logger, LogFields } from "../../regional/logger.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

const internalText = "Maximum call stack size exceeded";
const crash = () => new RangeError(internalText);

const chunk = (content: string): ChatCompletionChunk => ({
  id: "chatcmpl-broken",
  object: "chat.completion.chunk",
  created: 1,
  model: "chat",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

/** A value nested deeper than `JSON.stringify` can follow, built without recursion. */
function tooDeepToWrite(): unknown {
  let value: unknown = 1;
  for (let i = 0; i < 100_000; i++) value = [value];
  return value;
}

let upstreamClosed = false;

/**
 * An adapter with a bug: it throws a RangeError where a real one would raise a
 * GatewayError. `chat` fails at once; `mid-stream` after its first content; `unwritable`
 * sends a chunk the gateway cannot serialise after its first content.
 */
const broken: Provider = {
  name: "broken",
  models: () => [
    { id: "chat", kind: "chat" },
    { id: "mid-stream", kind: "chat" },
    { id: "unwritable", kind: "chat" },
    { id: "embed", kind: "embeddings" },
  ],
  async chat() {
    throw crash();
  },
  async chatStream(request) {
    if (request.model === "chat") throw crash();
    return (async function* () {
      try {
        yield chunk("partial ");
        if (request.model === "mid-stream") throw crash();
        yield Object.assign(chunk("deep"), { extra: tooDeepToWrite() });
        yield { ...chunk(""), choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
      } finally {
        upstreamClosed = true;
      }
    })();
  },
  async embeddings() {
    throw crash();
  },
};

describe("an internal exception from a provider adapter reaches the client only as a generic error", () => {
  let t: TestApp;
  beforeAll(async () => {
    // One attempt and a breaker that never trips: these tests pin what the client sees.
    const routes = { providers: { broken: { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1_000 } } } };
    t = await createTestApp(inject("primaryUrl"), { providers: [broken], routes });
  });
  afterAll(async () => t?.close());
  beforeEach(() => {
    upstreamClosed = false;
  });

  const post = (path: string, body: Record<string, unknown>) => t.app.request(postJson(path, body, t.apiKey));
  const ask = (model: string, stream = false) =>
    post("/v1/chat/completions", { model: `broken/${model}`, messages: [{ role: "user", content: "hi" }], stream });

  it.each([
    ["a chat call", () => ask("chat")],
    ["a stream that fails before it starts", () => ask("chat", true)],
    ["an embeddings call", () => post("/v1/embeddings", { model: "broken/embed", input: "hi" })],
  ])("%s: a 5xx in OpenAI's shape without the exception's text", async (_, call) => {
    const response = await call();
    expect(response.status).toBeGreaterThanOrEqual(500);
    const text = await response.text();
    const body = JSON.parse(text) as { error: { message: string; type: string } };
    expect(body.error.type).toMatch(/server_error|service_unavailable/);
    expect(text).not.toContain(internalText);
    expect(text).not.toContain("RangeError");
  });

  it("a stream that fails after its first content: the content, then the generic internal error, no [DONE]", async () => {
    const response = await ask("mid-stream", true);
    expect(response.status).toBe(200);
    const events = await sseDataOf(response);
    expect((JSON.parse(events[0] ?? "{}") as ChatCompletionChunk).choices[0]?.delta.content).toBe("partial ");
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({
      error: { code: "internal_error", type: "server_error", message: "Internal error." },
    });
    expect(events.join("\n")).not.toContain(internalText);
  });

  it("a stream with a chunk the gateway cannot write: the generic internal error, and the upstream is closed", async () => {
    const response = await ask("unwritable", true);
    const events = await sseDataOf(response);
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { code: "internal_error", message: "Internal error." } });
    expect(events.join("\n")).not.toContain(internalText);
    expect(upstreamClosed).toBe(true);
  });
});

describe("the regional error handler", () => {
  it("answers any exception that is not a GatewayError with 500 and the generic message, and logs the cause", async () => {
    const logged: LogFields[] = [];
    const record = (_: string, fields: LogFields = {}) => void logged.push(fields);
    const logger: Logger = {
      debug: record,
      info: record,
      warn: record,
      error: record,
      flat: (_, message, fields) => record(message, fields),
    };
    const app = new Hono<AppEnv>().get("/boom", () => {
      throw crash();
    });
    app.onError(errorHandler(logger));

    const response = await app.request("/boom");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "internal_error", type: "server_error", message: "Internal error." } });
    expect(logged).toEqual([
      expect.objectContaining({ code: "internal_error", error: expect.objectContaining({ message: internalText }) }),
    ]);
  });
});
