import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { createMockProvider, type MockWireName } from "../../regional/providers/mock/index.ts";
import { serveMockUpstream } from "../../regional/providers/mock/serve.ts";
import { createMockUpstream } from "../../regional/providers/mock/server.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { CallContext } from "../../regional/providers/types.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

const hello: ChatCompletionRequest = {
  model: "echo",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "hello there world" },
  ],
};
const streamed: ChatCompletionRequest = { ...hello, stream: true, stream_options: { include_usage: true } };
const pause = (ms: number) => new Promise<"silent">((resolve) => setTimeout(() => resolve("silent"), ms));

function context(mockFault?: string, signal = new AbortController().signal, onHeaders?: () => void): CallContext {
  return { signal, requestId: "req-mock", ...(mockFault !== undefined && { mockFault }), ...(onHeaders && { onHeaders }) };
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");

/** Reads a stream until it fails; what arrived before and the failure. */
async function readUntilFailure(chunks: AsyncIterable<ChatCompletionChunk>): Promise<{ content: string; error: unknown }> {
  const seen: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of chunks) seen.push(chunk);
  } catch (error) {
    return { content: contentOf(seen), error };
  }
  throw new Error(`the stream did not fail; it sent ${JSON.stringify(contentOf(seen))}`);
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (reason: unknown) => reason,
  );
}

/** The error and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && chain.length < 5; current = current instanceof Error ? current.cause : undefined)
    chain.push(current);
  return chain;
}

const wires: MockWireName[] = ["openai", "anthropic"];

describe.each(wires)("mock provider on %s's wire format", (wire) => {
  const provider = createMockProvider({ name: "mock", wire, now: () => 1_700_000_000_000 });

  it("answers echo with the last user message and one token per word", async () => {
    const completion = await provider.chat(hello, context());
    expect(completion.choices[0]).toMatchObject({ message: { role: "assistant", content: "hello there world" }, finish_reason: "stop" });
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(completion.created).toBe(1_700_000_000);
  });

  it("streams word by word, then the finish reason and usage", async () => {
    const chunks = await collect(await provider.chatStream(streamed, context()));
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: "assistant" });
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).map((chunk) => chunk.choices[0]?.delta.content)).toEqual([
      "hello ",
      "there ",
      "world",
    ]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
  });

  it("cuts the answer at max_tokens with finish_reason length", async () => {
    const completion = await provider.chat({ ...hello, max_tokens: 2 }, context());
    expect(completion.choices[0]).toMatchObject({ message: { content: "hello there " }, finish_reason: "length" });
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it("answers status=503 with a retryable upstream_error", async () => {
    expect(await failureOf(provider.chat(hello, context("status=503")))).toMatchObject({ code: "upstream_error", upstreamStatus: 503 });
  });

  it("answers status=429;retry-after=2 with rate_limited and the wait", async () => {
    expect(await failureOf(provider.chat(hello, context("status=429;retry-after=2")))).toMatchObject({
      code: "rate_limited",
      upstreamStatus: 429,
      retryAfterS: 2,
    });
  });

  it("answers context-length and content-policy as the provider words them", async () => {
    expect(await failureOf(provider.chat(hello, context("context-length")))).toMatchObject({
      code: "context_length_exceeded",
      upstreamStatus: 400,
    });
    expect(await failureOf(provider.chatStream(streamed, context("content-policy")))).toMatchObject({
      code: "content_policy_violation",
      upstreamStatus: 400,
    });
  });

  it("resets the connection the way Node's fetch reports it", async () => {
    const error = await failureOf(provider.chat(hello, context("reset")));
    expect(error).toMatchObject({ code: "upstream_error", upstreamStatus: undefined });
    const [, fetchFailed, reset] = causes(error);
    expect(fetchFailed).toMatchObject({ name: "TypeError", message: "fetch failed" });
    expect(reset).toMatchObject({ code: "ECONNRESET" });
  });

  it("adds latency before the answer", async () => {
    const started = performance.now();
    await provider.chat(hello, context("latency=25"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
  });

  it("lets the caller abort during the latency, with its own reason", async () => {
    const controller = new AbortController();
    const reason = new Error("deadline");
    const call = provider.chat(hello, context("latency=60000", controller.signal));
    await pause(5);
    controller.abort(reason);
    expect(await failureOf(call)).toBe(reason);
  });

  it("sends a slow first token: headers at once, the first event later", async () => {
    const controller = new AbortController();
    let headers = false;
    const chunks = await provider.chatStream(
      streamed,
      context("first-token-delay=60000", controller.signal, () => (headers = true)),
    );
    expect(headers).toBe(true);
    const iterator = chunks[Symbol.asyncIterator]();
    const first = iterator.next();
    expect(await Promise.race([first, pause(20)])).toBe("silent");
    const reason = new Error("first token deadline");
    controller.abort(reason);
    expect(await failureOf(first)).toBe(reason);
  });

  it("delivers the whole stream after a short first-token delay", async () => {
    const started = performance.now();
    expect(contentOf(await collect(await provider.chatStream(streamed, context("first-token-delay=15"))))).toBe("hello there world");
    expect(performance.now() - started).toBeGreaterThanOrEqual(10);
  });

  it("stalls after N pieces of content until the caller gives up", async () => {
    const controller = new AbortController();
    const iterator = (await provider.chatStream(streamed, context("stall-after=2", controller.signal)))[Symbol.asyncIterator]();
    const seen: ChatCompletionChunk[] = [];
    while (contentOf(seen) !== "hello there ") {
      const next = await iterator.next();
      if (next.done) throw new Error("ended early");
      seen.push(next.value);
    }
    const stalled = iterator.next();
    expect(await Promise.race([stalled, pause(20)])).toBe("silent");
    const reason = new Error("idle deadline");
    controller.abort(reason);
    expect(await failureOf(stalled)).toBe(reason);
  });

  it("breaks the connection after N pieces of content", async () => {
    const { content, error } = await readUntilFailure(await provider.chatStream(streamed, context("break-after=2")));
    expect(content).toBe("hello there ");
    expect(causes(error).some((cause) => (cause as { code?: string }).code === "ECONNRESET")).toBe(true);
  });

  it("sends a malformed chunk after the first piece of content, which the adapter skips and reports", async () => {
    const reported: Array<{ bytes: number }> = [];
    const chunks = await collect(
      await provider.chatStream(streamed, { ...context("malformed-chunk"), onMalformedChunk: (detail) => void reported.push(detail) }),
    );
    expect(contentOf(chunks)).toBe("hello there world");
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "stop")).toBe(true);
    expect(reported).toEqual([{ bytes: expect.any(Number) }]);
  });

  it("ends a stream without its terminator; the answer is still whole", async () => {
    const chunks = await collect(await provider.chatStream(streamed, context("no-done")));
    expect(contentOf(chunks)).toBe("hello there world");
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "stop")).toBe(true);
  });

  it("fails only the first N calls with times=N, and counts every call", async () => {
    const counted = createMockProvider({ wire });
    expect(await failureOf(counted.chat(hello, context("status=503;times=1")))).toMatchObject({ upstreamStatus: 503 });
    expect((await counted.chat(hello, context("status=503;times=1"))).choices[0]?.message.content).toBe("hello there world");
    expect(counted.calls("echo")).toBe(2);
    expect(counted.calls("embed")).toBe(0);
  });

  it("applies faults configured per model, unless the call brings its own", async () => {
    const faulty = createMockProvider({ wire, faults: { echo: "status=500;times=2" } });
    expect(await failureOf(faulty.chat(hello, context()))).toMatchObject({ upstreamStatus: 500 });
    expect(await failureOf(faulty.chat(hello, context("context-length")))).toMatchObject({ code: "context_length_exceeded" });
    expect(await failureOf(faulty.chat(hello, context()))).toMatchObject({ upstreamStatus: 500 });
    expect((await faulty.chat(hello, context())).choices[0]?.message.content).toBe("hello there world");
    expect(faulty.calls("echo")).toBe(4);
  });

  it("refuses a fault spec with a typo as an invalid request naming it", async () => {
    const error = await failureOf(provider.chat(hello, context("stall-afer=2")));
    expect(error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("unknown mock fault 'stall-afer'") });
  });

  it("answers a model it does not serve with model_not_found", async () => {
    expect(await failureOf(provider.chat({ ...hello, model: "nope" }, context()))).toMatchObject({
      code: "model_not_found",
      upstreamStatus: 404,
    });
  });
});

describe("mock provider specifics", () => {
  it("serves deterministic embeddings on OpenAI's wire, as floats or base64", async () => {
    const provider = createMockProvider();
    const floats = await provider.embeddings({ model: "embed", input: ["alpha", "beta"] }, context());
    const again = await provider.embeddings({ model: "embed", input: "alpha" }, context());
    const encoded = await provider.embeddings({ model: "embed", input: "alpha", encoding_format: "base64" }, context());
    expect(floats.data.map((item) => item.index)).toEqual([0, 1]);
    expect(again.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
    const bytes = Buffer.from(String(encoded.data[0]?.embedding), "base64");
    expect(Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4))).toHaveLength(8);
    expect(floats.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    expect(await failureOf(provider.embeddings({ model: "embed", input: "x" }, context("status=502")))).toMatchObject({
      upstreamStatus: 502,
    });
  });

  it("answers an overload on Anthropic's wire as a 529 upstream_error", async () => {
    const provider = createMockProvider({ wire: "anthropic" });
    expect(await failureOf(provider.chat(hello, context("status=529")))).toMatchObject({ code: "upstream_error", upstreamStatus: 529 });
  });

  it("offers no embeddings on Anthropic's wire", async () => {
    const provider = createMockProvider({ name: "mock-anthropic", wire: "anthropic" });
    expect(provider.models()).toEqual([{ id: "echo", kind: "chat" }]);
    expect(await failureOf(provider.embeddings({ model: "echo", input: "x" }, context()))).toMatchObject({ code: "invalid_request" });
  });

  it("refuses a configured fault spec with a typo at once", () => {
    expect(() => createMockProvider({ faults: { echo: "latncy=5" } })).toThrow(/unknown mock fault 'latncy'/);
  });
});

describe("mock upstream wire formats", () => {
  const upstream = createMockUpstream();
  const bindings = { reset: () => {} };
  const call = (path: string, body: unknown, headers: Record<string, string>) =>
    upstream.app.fetch(
      new Request(`http://mock.test${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }),
      bindings,
    );
  const openai = { authorization: "Bearer k" };
  const anthropic = { "x-api-key": "k", "anthropic-version": "2023-06-01" };
  const messages = [{ role: "user", content: "hi there" }];

  it("ends OpenAI's stream with [DONE], and leaves it out under no-done", async () => {
    const body = { model: "echo", messages, stream: true };
    expect(await (await call("/openai/v1/chat/completions", body, openai)).text()).toMatch(/data: \[DONE\]\n\n$/);
    expect(await (await call("/openai/v1/chat/completions", body, { ...openai, "x-mock-fault": "no-done" })).text()).not.toContain(
      "[DONE]",
    );
  });

  it("ends Anthropic's stream with message_stop, and leaves it out under no-done", async () => {
    const body = { model: "echo", max_tokens: 100, messages, stream: true };
    const whole = await (await call("/anthropic/v1/messages", body, anthropic)).text();
    expect(whole.match(/^event: (\w+)$/gm)?.map((line) => line.slice(7))).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(await (await call("/anthropic/v1/messages", body, { ...anthropic, "x-mock-fault": "no-done" })).text()).not.toContain(
      "message_stop",
    );
  });

  it("sends Anthropic's error shape and Retry-After", async () => {
    const response = await call(
      "/anthropic/v1/messages",
      { model: "echo", max_tokens: 10, messages },
      { ...anthropic, "x-mock-fault": "status=429;retry-after=3" },
    );
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });

  it("wants each provider's credentials and Anthropic's max_tokens", async () => {
    expect((await call("/openai/v1/chat/completions", { model: "echo", messages }, {})).status).toBe(401);
    expect((await call("/anthropic/v1/messages", { model: "echo", max_tokens: 10, messages }, { "x-api-key": "k" })).status).toBe(401);
    const missing = await call("/anthropic/v1/messages", { model: "echo", messages }, anthropic);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { type: "invalid_request_error", message: "max_tokens: Field required" } });
  });
});

describe("mock upstream on a port", () => {
  it("serves the real adapters over HTTP and counts the calls", async () => {
    const served = await serveMockUpstream(0);
    try {
      const openai = createOpenAiProvider({
        name: "openai",
        baseUrl: `${served.url}/openai/v1`,
        apiKey: "k",
        models: [{ id: "echo", kind: "chat" }],
      });
      const anthropic = createAnthropicProvider({
        name: "anthropic",
        baseUrl: `${served.url}/anthropic`,
        apiKey: "k",
        models: [{ id: "echo", kind: "chat" }],
      });
      expect((await openai.chat(hello, context())).choices[0]?.message.content).toBe("hello there world");
      expect(contentOf(await collect(await anthropic.chatStream(streamed, context())))).toBe("hello there world");
      expect(served.upstream.calls("echo")).toBe(2);
    } finally {
      await served.close();
    }
  });

  it("resets the TCP connection for reset", async () => {
    const served = await serveMockUpstream(0);
    try {
      const error = await failureOf(
        fetch(`${served.url}/openai/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: "Bearer k", "content-type": "application/json", "x-mock-fault": "reset" },
          body: JSON.stringify(hello),
        }),
      );
      expect(error).toMatchObject({ name: "TypeError", message: "fetch failed" });
      expect((error as Error).cause).toMatchObject({ code: "ECONNRESET" });
    } finally {
      await served.close();
    }
  });

  it("breaks a stream mid-way over the network for a configured break-after", async () => {
    const served = await serveMockUpstream(0, { faults: { echo: "break-after=1" } });
    try {
      const anthropic = createAnthropicProvider({
        name: "anthropic",
        baseUrl: `${served.url}/anthropic`,
        apiKey: "k",
        models: [{ id: "echo", kind: "chat" }],
      });
      const { content, error } = await readUntilFailure(await anthropic.chatStream(streamed, context()));
      expect(content).toBe("hello ");
      expect(error).toMatchObject({ code: "upstream_error", message: "anthropic broke off the stream." });
    } finally {
      await served.close();
    }
  });
});

describe("mock providers through the app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"), {
      providers: [createMockProvider(), createMockProvider({ name: "mock-anthropic", wire: "anthropic" })],
    });
  });
  afterAll(async () => t?.close());

  const ask = (model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    t.app.request(postJson("/v1/chat/completions", { ...hello, model, ...extra }, t.apiKey, headers));

  it("answers through Anthropic's translation path", async () => {
    const response = await ask("mock-anthropic/echo");
    expect(response.status).toBe(200);
    const body = (await response.json()) as ChatCompletion;
    expect(body.model).toBe("mock-anthropic/echo");
    expect(body.choices[0]?.message.content).toBe("hello there world");
    expect(body.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it("streams through Anthropic's translation path and ends with [DONE]", async () => {
    const events = await sseDataOf(await ask("mock-anthropic/echo", { stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(contentOf(chunks)).toBe("hello there world");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
  });

  it.each(["mock/echo", "mock-anthropic/echo"])("passes the client's x-mock-fault to %s: content-policy is a 400", async (model) => {
    const response = await ask(model, {}, { "x-mock-fault": "content-policy" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("content_policy_violation");
  });

  it.each(["mock/echo", "mock-anthropic/echo"])("streams %s past a malformed chunk: the whole answer, then [DONE]", async (model) => {
    const events = await sseDataOf(await ask(model, { stream: true }, { "x-mock-fault": "malformed-chunk" }));
    expect(events.at(-1)).toBe("[DONE]");
    expect(contentOf(events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk))).toBe("hello there world");
  });

  it("ends a stream broken mid-way with an error event and no [DONE]", async () => {
    const events = await sseDataOf(await ask("mock-anthropic/echo", { stream: true }, { "x-mock-fault": "break-after=2" }));
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_error" } });
  });
});

describe("mock faults through the app's routing", () => {
  let t: TestApp;
  const flaky = createMockProvider({ name: "flaky" });
  const late = createMockProvider({ name: "late", wire: "anthropic", faults: { echo: "first-token-delay=60000" } });
  const steady = createMockProvider({ name: "steady", wire: "anthropic" });
  // Backoff sleeps return at once; only the first-token deadline takes real time.
  const clock = { now: () => Date.now(), sleep: async () => {} };
  const routes = {
    routes: {
      "late-first": {
        targets: [
          { provider: "late", model: "echo" },
          { provider: "steady", model: "echo" },
        ],
        timeouts: { firstTokenMs: 30 },
      },
    },
  };

  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"), { providers: [flaky, late, steady], routes, clock });
  });
  afterAll(async () => t?.close());

  it("recovers from two 503s by retrying (times=2), and the mock counts three calls", async () => {
    const response = await t.app.request(
      postJson("/v1/chat/completions", { ...hello, model: "flaky/echo" }, t.apiKey, { "x-mock-fault": "status=503;times=2" }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-attempts")).toBe("3");
    expect(flaky.calls("echo")).toBe(3);
  });

  it("falls back past a target whose first token is late, before anything reached the client", async () => {
    const response = await t.app.request(postJson("/v1/chat/completions", { ...streamed, model: "late-first" }, t.apiKey));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("steady");
    const events = await sseDataOf(response);
    expect(events.at(-1)).toBe("[DONE]");
    expect(contentOf(events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk))).toBe("hello there world");
    expect(late.calls("echo")).toBe(1);
  });
});
