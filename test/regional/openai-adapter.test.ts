import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { contentChunk, sendJson, sleep, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

let upstream: FakeUpstream;
let t: TestApp;
let openai: Provider;
/** An OpenAI-compatible server on the same upstream whose entry says it takes no `stream_options`. */
let plain: Provider;

const fixture = async (name: string) =>
  JSON.parse(await readFile(new URL(`../fixtures/openai/${name}`, import.meta.url), "utf8")) as {
    source: string;
    status: number;
    headers: Record<string, string>;
    body: unknown;
  };

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
  plain = createOpenAiProvider({
    name: "plain",
    baseUrl: upstream.baseUrl,
    models: [{ id: "m", kind: "chat" }],
    capabilities: { streamOptions: false },
  });
  // One attempt and a breaker that never trips: these tests pin translation, not routing.
  const once = { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1_000 } };
  const routes = { providers: { openai: once, plain: once } };
  t = await createTestApp(inject("primaryUrl"), { providers: [createMockProvider(), openai, plain], routes });
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
  t.app.request(
    postJson("/v1/chat/completions", { model: "openai/gpt-test", messages: [{ role: "user", content: "hi" }], ...extra }, t.apiKey),
  );

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
    await ask({
      reasoning_effort: "low",
      metadata: { team: "a" },
      messages: [{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }],
    });
    const sent = JSON.parse(upstream.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(sent.reasoning_effort).toBe("low");
    expect(sent.metadata).toEqual({ team: "a" });
    expect(sent.messages).toEqual([{ role: "user", content: "hi", cache_control: { type: "ephemeral" } }]);
  });

  it("relays the upstream stream chunk by chunk and ends it with [DONE]", async () => {
    upstream.handle(async (_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const [word, finish] of [
        ["one ", null],
        ["two ", null],
        ["three", "stop"],
      ] as const) {
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

  it("keeps the connection to the provider for the next call when a stream's end arrives just after its [DONE]", async () => {
    let ended = 0;
    upstream.handle(async (_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(contentChunk("gpt-test", "done", "stop"));
      response.write("data: [DONE]\n\n");
      await sleep(5);
      response.end(() => (ended += 1));
    });
    const calls = 4;
    for (let call = 0; call < calls; call++) {
      expect((await sseDataOf(await ask({ stream: true }))).at(-1)).toBe("[DONE]");
      // The next call comes once this stream's end went out, as a client's next call would: had the
      // connection been given up at [DONE], it would open one of its own.
      for (const until = Date.now() + 2_000; ended <= call && Date.now() < until;) await sleep(1);
      await sleep(5);
    }
    // A call may still find the connection before it draining its end, and take another; never one each.
    const ports = new Set(upstream.requests.map((request) => request.remotePort));
    expect(ports.size).toBeLessThan(calls);
  });

  it("skips a chunk that cannot be read between valid ones: the answer is whole and ends with [DONE]", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(
        `${contentChunk("gpt-test", "partial ")}data: {not json\n\n${contentChunk("gpt-test", "and whole", "stop")}data: [DONE]\n\n`,
      );
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
      response.end(
        `${contentChunk("gpt-test", "one ")}${unreadable.map((data) => `data: ${data}\n\n`).join("")}${contentChunk("gpt-test", "two", "stop")}data: [DONE]\n\n`,
      );
    });
    const reported: unknown[] = [];
    const context = {
      signal: new AbortController().signal,
      requestId: "req-skip",
      onMalformedChunk: (detail: { bytes: number }) => void reported.push(detail),
    };
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of await openai.chatStream(
      { model: "gpt-test", messages: [{ role: "user", content: "hi" }], stream: true },
      context,
    ))
      chunks.push(chunk);
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
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({
      error: { code: "upstream_error", message: expect.stringContaining("failed mid-stream") },
    });
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
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({
      code: "invalid_request",
      message: "max_tokens is too large",
      param: "max_tokens",
    });
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

  // openai/openai-openapi openapi.yaml, ChatCompletionStreamOptions: "Only set this when you set `stream: true`."
  it("never sends a client's stream_options on a call that is not streamed", async () => {
    upstream.handle((_, response) => sendJson(response, 200, completion("gpt-test")));
    expect((await ask({ stream_options: { include_usage: true } })).status).toBe(200);
    const sent = JSON.parse(upstream.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(sent.stream).toBe(false);
    expect(sent).not.toHaveProperty("stream_options");
  });

  it("asks a stream for its usage through stream_options where the backend takes them", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("gpt-test", "hi", "stop")}data: [DONE]\n\n`);
    });
    await sseDataOf(await ask({ stream: true }));
    expect(JSON.parse(upstream.requests[0]?.body ?? "{}")).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("leaves stream_options out for a backend that does not take them, and counts the usage it then does not report", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("m", "twelve chars", "stop")}data: [DONE]\n\n`);
    });
    const events = await sseDataOf(await ask({ model: "plain/m", stream: true, stream_options: { include_usage: true } }));
    const sent = JSON.parse(upstream.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(sent.stream).toBe(true);
    expect(sent).not.toHaveProperty("stream_options");
    expect(events.at(-1)).toBe("[DONE]");
    const last = JSON.parse(events.at(-2) ?? "{}") as ChatCompletionChunk;
    // "twelve chars" is 12 characters: 3 tokens at four characters a token.
    expect(last).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
  });

  it("counts no usage for a stream that did not ask for it", async () => {
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(`${contentChunk("m", "hi", "stop")}data: [DONE]\n\n`);
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of await plain.chatStream(
      { model: "m", messages: [{ role: "user", content: "hi" }], stream: true },
      { signal: new AbortController().signal, requestId: "r" },
    ))
      chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.usage).toBeUndefined();
  });

  it("passes on the usage a backend without stream_options reports by itself, counting nothing", async () => {
    const usage = { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 };
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      const usageChunk = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage })}\n\n`;
      response.end(`${contentChunk("m", "hi", "stop")}${usageChunk}data: [DONE]\n\n`);
    });
    const events = await sseDataOf(await ask({ model: "plain/m", stream: true, stream_options: { include_usage: true } }));
    const usages = events
      .slice(0, -1)
      .flatMap((data) => ((JSON.parse(data) as ChatCompletionChunk).usage ? [(JSON.parse(data) as ChatCompletionChunk).usage] : []));
    expect(usages).toEqual([usage]);
  });

  // https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers: reset durations such as 6m0s.
  it("reads how long a 429 asks to wait from x-ratelimit-reset-* when it sends no Retry-After", async () => {
    const { status, headers, body } = await fixture("error-rate-limit.json");
    upstream.handle((_, response) => sendJson(response, status, body, headers));
    const error = await openai
      .chat({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] }, { signal: new AbortController().signal, requestId: "r" })
      .catch((reason: unknown) => reason);
    // The tokens are exhausted (remaining 0): their reset, 6m0s, not the requests' 1s.
    expect(error).toMatchObject({ code: "rate_limited", upstreamStatus: 429, retryAfterS: 360 });
  });

  // https://platform.openai.com/docs/guides/error-codes#api-errors: 429 insufficient_quota, "check your plan and billing details".
  it("takes a 429 insufficient_quota for an account that cannot pay: a long cool-down and no retry", async () => {
    const { status, body } = await fixture("error-insufficient-quota.json");
    upstream.handle((_, response) => sendJson(response, status, body));
    const error = await openai
      .chat({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] }, { signal: new AbortController().signal, requestId: "r" })
      .catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "upstream_error", upstreamStatus: 429, retry: false, retryAfterS: 300 });
    expect((error as GatewayError).message).toContain("openai cannot serve now");
  });

  // openai/openai-node src/client.ts shouldRetry: x-should-retry "true"/"false" is obeyed first.
  it("carries x-should-retry as the provider's own retry hint", async () => {
    upstream.handle((_, response) => sendJson(response, 500, { error: { message: "exploded" } }, { "x-should-retry": "false" }));
    const error = await openai
      .chat({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] }, { signal: new AbortController().signal, requestId: "r" })
      .catch((reason: unknown) => reason);
    expect(error).toMatchObject({ upstreamStatus: 500, retry: false });
  });

  it("refuses tools for a backend whose entry says it takes none, naming the param, sending nothing", async () => {
    const toolless = createOpenAiProvider({
      name: "toolless",
      baseUrl: upstream.baseUrl,
      models: [{ id: "m", kind: "chat", capabilities: { tools: false } }],
    });
    const error = await toolless
      .chat(
        { model: "m", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "f" } }] },
        { signal: new AbortController().signal, requestId: "r" },
      )
      .catch((reason: unknown) => reason);
    expect(error).toMatchObject({ code: "invalid_request", param: "tools", message: "toolless/m does not take tools." });
    expect(upstream.requests).toHaveLength(0);
  });

  it("forwards embeddings requests and names the model provider/model", async () => {
    upstream.handle((_, response) =>
      sendJson(response, 200, {
        object: "list",
        data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }],
        model: "text-embedding-test",
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }),
    );
    const response = await t.app.request(
      postJson("/v1/embeddings", { model: "openai/text-embedding-test", input: "hi", dimensions: 2 }, t.apiKey),
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(upstream.requests[0]?.body ?? "{}")).toEqual({ model: "text-embedding-test", input: "hi", dimensions: 2 });
    expect(((await response.json()) as { model: string }).model).toBe("openai/text-embedding-test");
  });
});

describe("openai adapter in a route", () => {
  let routed: TestApp;
  beforeAll(async () => {
    const routes = {
      routes: {
        chat: {
          targets: [
            { provider: "openai", model: "gpt-test" },
            { provider: "mock", model: "echo" },
          ],
        },
      },
    };
    routed = await createTestApp(inject("primaryUrl"), { providers: [openai, createMockProvider()], routes });
  });
  afterAll(async () => routed?.close());

  it("moves on at once from a 429 insufficient_quota and skips the provider while it cools down", async () => {
    const { status, body } = await fixture("error-insufficient-quota.json");
    upstream.handle((_, response) => sendJson(response, status, body));
    const post = () =>
      routed.app.request(postJson("/v1/chat/completions", { model: "chat", messages: [{ role: "user", content: "hi" }] }, routed.apiKey));
    const first = await post();
    expect(first.status).toBe(200);
    expect(first.headers.get("x-breakwater-provider")).toBe("mock");
    expect(upstream.requests).toHaveLength(1);
    expect((await post()).headers.get("x-breakwater-provider")).toBe("mock");
    expect(upstream.requests).toHaveLength(1);
  });
});
