import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { loadConfig } from "../../regional/config.ts";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { fetchTransport } from "../../regional/providers/http.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { CallContext, Provider } from "../../regional/providers/types.ts";
import { createTestApp, detailedHealth, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

interface ErrorBody {
  error: { message: string; type: string; code: string };
}

/** A chat request as text whose unknown field `extra` holds `depth` nested arrays: depth + 1 in all. */
const nestedChat = (depth: number) =>
  `{"model":"mock/echo","messages":[{"role":"user","content":"hello"}],"extra":${"[".repeat(depth)}${"]".repeat(depth)}}`;

describe("a body nested too deep, at the regional tier", () => {
  const mock = createMockProvider();
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"), { providers: [mock], adminKey: testAdminKey });
  });
  afterAll(async () => t?.close());

  const chat = (body: string) => t.app.request(postJson("/v1/chat/completions", body, t.apiKey));

  it("is refused with 400 invalid_request naming the limit, every time, and never reaches the provider", async () => {
    for (let i = 0; i < 2; i++) {
      const response = await chat(nestedChat(50_000));
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error).toMatchObject({
        code: "invalid_request",
        type: "invalid_request_error",
        message: "The request body is nested deeper than 64 levels.",
      });
    }
    expect(mock.calls("echo")).toBe(0);
    // Refused at the door, the provider's breaker never hears of it.
    const health = (await (await detailedHealth(t)).json()) as { breakers: Array<{ id: string; status: string }> };
    expect(health.breakers.filter((breaker) => breaker.status !== "closed")).toEqual([]);
  });

  it("is refused on the stream path too, as JSON before any stream starts", async () => {
    const response = await chat(nestedChat(65).replace('"model"', '"stream":true,"model"'));
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(mock.calls("echo")).toBe(0);
  });

  it("passes a body exactly at the limit on to the provider", async () => {
    const response = await chat(nestedChat(63));
    expect(response.status).toBe(200);
    expect(mock.calls("echo")).toBe(1);
  });
});

describe("MAX_JSON_DEPTH", () => {
  it("is 64 unless set, and takes a positive whole number up to 1000", () => {
    expect(loadConfig({}).MAX_JSON_DEPTH).toBe(64);
    expect(loadConfig({ MAX_JSON_DEPTH: "128" }).MAX_JSON_DEPTH).toBe(128);
    for (const bad of ["0", "1001", "deep", "1.5"]) expect(() => loadConfig({ MAX_JSON_DEPTH: bad })).toThrow(/MAX_JSON_DEPTH/);
  });
});

/** `depth` values each inside the next, built without recursion. */
function deeplyNested(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

describe("an adapter that cannot serialise the request", () => {
  let sent = 0;
  const transport = fetchTransport(async () => {
    sent += 1;
    return new Response("{}", { status: 500 });
  });
  const openai = createOpenAiProvider({
    name: "openai",
    baseUrl: "http://openai.invalid/v1",
    apiKey: "k",
    models: [{ id: "gpt", kind: "chat" }],
    transport,
  });
  const anthropic = createAnthropicProvider({
    name: "anthropic",
    baseUrl: "http://anthropic.invalid",
    apiKey: "k",
    models: [{ id: "claude", kind: "chat" }],
    transport,
  });
  const context: CallContext = { signal: new AbortController().signal, requestId: "req-deep" };
  // OpenAI's adapter sends unknown fields on; Anthropic's sends a tool's parameters as they are.
  const deepRequests: Array<[string, Provider, ChatCompletionRequest]> = [
    [
      "openai",
      openai,
      {
        model: "gpt",
        messages: [{ role: "user", content: "hi" }],
        extra: deeplyNested(100_000, (inner) => [inner]),
      } as ChatCompletionRequest,
    ],
    [
      "anthropic",
      anthropic,
      {
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f", parameters: { deep: deeplyNested(100_000, (inner) => ({ inner })) } } }],
      },
    ],
  ];

  it.each(deepRequests)(
    "%s: refuses it as the client's 400 invalid_request, with the cause kept, and sends nothing",
    async (_, provider, request) => {
      sent = 0;
      for (const call of [() => provider.chat(request, context), () => provider.chatStream({ ...request, stream: true }, context)]) {
        const error = await call().then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({
          code: "invalid_request",
          status: 400,
          message: "The request cannot be sent to the provider: its body cannot be serialised.",
        });
        expect((error as Error).cause).toBeInstanceOf(RangeError);
      }
      expect(sent).toBe(0);
    },
  );
});
