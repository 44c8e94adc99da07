import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { contentChunk, sendJson, sleep, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

let upstream: FakeUpstream;
let t: TestApp;
let openai: Provider;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  openai = createOpenAiProvider({
    name: "openai",
    baseUrl: upstream.baseUrl,
    apiKey: "sk-provider-secret",
    models: [
      { id: "gpt-test", kind: "chat" },
      { id: "text-embedding-test", kind: "embeddings" },
    ],
  });
  // One attempt and a breaker that never trips: these tests pin translation, not routing.
  const routes = { providers: { openai: { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1_000 } } } };
  t = await createTestApp(inject("primaryUrl"), { providers: [createMockProvider(), openai], routes });
});
afterAll(async () => {
  await t?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

const completion = (model: string) => ({
  id: "chatcmpl-up",
  object: "chat.completion",
  created: 1,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: "from upstream" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
});

const ask = (extra: Record<string, unknown> = {}) =>
  t.app.request(postJson("/v1/chat/completions", { model: "openai/gpt-test", messages: [{ role: "user", content: "hi" }], ...extra }, t.apiKey));

describe("openai adapter", () => {
  it("sends the provider's own key, never the client's, and the provider's model name", async () => {
    upstream.handle((_, response) => sendJson(response, 200, completion("gpt-test-2026")));
    const response = await ask();
    expect(response.status).toBe(200);
    const [sent] = upstream.requests;
    expect(sent?.path).toBe("/v1/chat/completions");
    expect(sent?.headers.authorization).toBe("Bearer sk-provider-secret");
    expect(JSON.stringify(sent?.headers)).not.toContain(t.apiKey);
    expect(JSON.parse(sent?.body ?? "{}")).toMatchObject({ model: "gpt-test", stream: false });
    const body = (await response.json()) as { model: string; usage: unknown };
    expect(body.model).toBe("openai/gpt-test-2026");
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  });

  it("passes fields the gateway does not know on to the provider", async () => {
    upstream.handle((_, response) => sendJson(response, 200, completion("gpt-test")));
    await ask({ reasoning_effort: "low", metadata: { team: "a" }, messages: [{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }] });
    const sent = JSON.parse(upstream.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(sent.reasoning_effort).toBe("low");
    expect(sent.metadata).toEqual({ team: "a" });
    expect(sent.messages).toEqual([{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }]);
  });

  it("relays the upstream stream chunk by chunk and ends it with [DONE]", async () => {
    upstream.handle(async (_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const [word, finish] of [["one ", null], ["two ", null], ["three", "stop"]] as const) {
        response.write(contentChunk("gpt-test", word, finish));
        await sleep(5);
      }
      response.end("data: [DONE]\n\n");
    });
    const response = await ask({ stream: true });
    const events = await sseDataOf(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content).join("")).toBe("one two three");
    expect(chunks.every((chunk) => chunk.model === "openai/gpt-test")).toBe(true);
  });

  it("skips a chunk that cannot be read between valid ones: the answer is whole and ends with [DONE]", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("gpt-test", "partial ")}data: {not json\n\n${contentChunk("gpt-test", "and whole", "stop")}data: [DONE]\n\n`);
    });
    const events = await sseDataOf(await ask({ stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content).join("")).toBe("partial and whole");
  });

  it("reports each skipped chunk's size, never its content, and goes on", async () => {
    const secret = "user secret text";
    const unreadable = [`{"choices":[{"delta":{"content":"${secret}`, `{"id":"no choices, ${secret}"}`, `"${secret}"`];
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("gpt-test", "one ")}${unreadable.map((data) => `data: ${data}\n\n`).join("")}${contentChunk("gpt-test", "two", "stop")}data: [DONE]\n\n`);
    });
    const reported: unknown[] = [];
    const context = { signal: new AbortController().signal, requestId: "req-skip", onMalformedChunk: (detail: { bytes: number }) => void reported.push(detail) };
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of await openai.chatStream({ model: "gpt-test", messages: [{ role: "user", content: "hi" }], stream: true }, context)) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content).join("")).toBe("one two");
    expect(reported).toEqual(unreadable.map((data) => ({ bytes: new TextEncoder().encode(data).byteLength })));
    expect(JSON.stringify(reported)).not.toContain(secret);
  });

  it("still fails a stream on an error the provider sends mid-stream", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("gpt-test", "partial ")}data: {"error":{"message":"overloaded"}}\n\n`);
    });
    const events = await sseDataOf(await ask({ stream: true }));
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_error", message: expect.stringContaining("failed mid-stream") } });
  });

  it("reports a provider 429 with its Retry-After when no target is left", async () => {
    upstream.handle((_, response) => sendJson(response, 429, { error: { message: "slow down" } }, { "retry-after": "7" }));
    const response = await ask();
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("7");
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unavailable");
    expect(body.error.message).toContain("openai is rate limiting: slow down");
    // The target now cools down for 7 s; the next tests must not wait it out.
    t.deps.router.coolDowns.clear("openai/gpt-test");
  });

  it("keeps the provider's message and param for a client fault", async () => {
    upstream.handle((_, response) => sendJson(response, 400, { error: { message: "max_tokens is too large", param: "max_tokens" } }));
    const response = await ask();
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({ code: "invalid_request", message: "max_tokens is too large", param: "max_tokens" });
  });

  it("reports a provider 5xx, and a refusal of our credentials, as the provider's failure, never as the client's 401", async () => {
    upstream.handle((_, response) => sendJson(response, 500, { error: { message: "exploded" } }));
    const failed = await ask();
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toContain("openai failed with 500: exploded");
    upstream.handle((_, response) => sendJson(response, 401, { error: { message: "bad key sk-provider-secret" } }));
    const refused = await ask();
    expect(refused.status).toBe(503);
    const message = ((await refused.json()) as { error: { message: string } }).error.message;
    expect(message).toContain("refused the gateway's credentials");
    expect(message).not.toContain("sk-provider-secret");
  });

  it("reports a provider that closes the connection without a response as unreachable, without its address", async () => {
    upstream.handle((_, response) => response.destroy());
    const response = await ask();
    expect(response.status).toBe(503);
    const message = ((await response.json()) as { error: { message: string } }).error.message;
    expect(message).toContain("openai could not be reached");
    expect(message).not.toContain("127.0.0.1");
  });

  it("forwards embeddings requests and names the model provider/model", async () => {
    upstream.handle((_, response) =>
      sendJson(response, 200, { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }], model: "text-embedding-test", usage: { prompt_tokens: 1, total_tokens: 1 } }),
    );
    const response = await t.app.request(postJson("/v1/embeddings", { model: "openai/text-embedding-test", input: "hi", dimensions: 2 }, t.apiKey));
    expect(response.status).toBe(200);
    expect(JSON.parse(upstream.requests[0]?.body ?? "{}")).toEqual({ model: "text-embedding-test", input: "hi", dimensions: 2 });
    expect(((await response.json()) as { model: string }).model).toBe("openai/text-embedding-test");
  });
});
