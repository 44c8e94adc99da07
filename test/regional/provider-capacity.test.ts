import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { fetchTransport } from "../../regional/providers/http.ts";
import { createMockProvider, type MockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Clock } from "../../regional/routing/router.ts";
import { contentChunk, sendJson, startFakeUpstream, type FakeUpstream, type RecordedRequest } from "../support/fake-upstream.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

const adminKey = "provider-capacity-admin-key-0123456789abcdef";

/** Time stands still unless a test moves it; sleeps return at once. */
let now = Date.parse("2026-08-01T12:00:00Z");
const clock: Clock = { now: () => now, sleep: async () => {} };

const completion = (model: string) => ({
  id: "chatcmpl-x",
  object: "chat.completion",
  created: 1,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: `answer from ${model}` }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
});
const ok = (_: RecordedRequest, response: ServerResponse) => sendJson(response, 200, completion("m"));
/** What OpenAI answers once the limit is used up: the gateway should never see it. */
let tooMany = 0;
const rateLimited = (_: RecordedRequest, response: ServerResponse) => {
  tooMany += 1;
  sendJson(response, 429, { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } });
};

/** The Anthropic upstream (a fetch stub): answers a message, with these headers. */
let claudeHeaders: Record<string, string> = {};
const claudeCalls: string[] = [];
const messageText = await readFile(new URL("../fixtures/anthropic/message-text.json", import.meta.url), "utf8");
const claude = createAnthropicProvider({
  name: "claude",
  apiKey: "sk-ant-test",
  models: [{ id: "claude-haiku-4-5", kind: "chat" }],
  transport: fetchTransport(async (input) => {
    claudeCalls.push(String(input));
    return new Response(messageText, { headers: { "content-type": "application/json", ...claudeHeaders } });
  }),
});

const mocks: Record<"a" | "b", MockProvider> = { a: createMockProvider({ name: "a" }), b: createMockProvider({ name: "b" }) };
let alpha: FakeUpstream;
let beta: FakeUpstream;
let t: TestApp;

const pair = (first: string, second: string, model: string) => ({
  targets: [
    { provider: first, model },
    { provider: second, model },
  ],
  // Held streams stay open as long as a test wants; no retries, so each skip or failure shows at once.
  timeouts: { idleMs: 600_000 },
  retry: { maxAttempts: 1 },
});

beforeAll(async () => {
  alpha = await startFakeUpstream(ok);
  beta = await startFakeUpstream(ok);
  const openAi = (name: string, upstream: FakeUpstream) =>
    createOpenAiProvider({
      name,
      baseUrl: upstream.baseUrl,
      models: [
        { id: "m", kind: "chat" },
        { id: "n", kind: "chat" },
      ],
    });
  t = await createTestApp(inject("primaryUrl"), {
    providers: [mocks.a, mocks.b, openAi("alpha", alpha), openAi("beta", beta), claude],
    routes: {
      providers: {
        a: { limits: { maxConcurrent: 1 } },
        b: { limits: { maxConcurrent: 1 } },
        // One model of alpha may run one call at a time; its other model and the provider as a whole are free.
        alpha: { type: "openai", baseUrl: alpha.baseUrl, models: [{ id: "m", limits: { maxConcurrent: 1 } }, "n"] },
      },
      routes: {
        mocks: pair("a", "b", "echo"),
        "alpha-m": pair("alpha", "beta", "m"),
        "alpha-n": pair("alpha", "beta", "n"),
        "claude-first": {
          targets: [
            { provider: "claude", model: "claude-haiku-4-5" },
            { provider: "b", model: "echo" },
          ],
        },
      },
    },
    clock,
    adminKey,
  });
});
afterAll(async () => {
  await t?.close();
  await alpha?.close();
  await beta?.close();
});
afterEach(() => {
  alpha.handle(ok);
  beta.handle(ok);
  alpha.requests.length = 0;
  beta.requests.length = 0;
});

const chat = (model: string, headers: Record<string, string> = {}) =>
  t.app.request(postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }, t.apiKey, headers));

async function servedBy(model: string): Promise<{ provider: string | null; attempts: string | null }> {
  const response = await chat(model);
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return { provider: response.headers.get("x-breakwater-provider"), attempts: response.headers.get("x-breakwater-attempts") };
}

/** A stream held open after its first word: a call in flight until `end()`. */
async function heldStream(model: string, fault = "stall-after=1"): Promise<{ provider: string | null; end(): Promise<void> }> {
  const response = await t.app.request(
    postJson("/v1/chat/completions", { model, stream: true, messages: [{ role: "user", content: "hold on please" }] }, t.apiKey, {
      "x-mock-fault": fault,
    }),
  );
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  return { provider: response.headers.get("x-breakwater-provider"), end: () => reader.cancel() };
}

/** An OpenAI upstream stream that sends one word and then nothing, until the gateway leaves. */
const stalledStream = (_: RecordedRequest, response: ServerResponse) => {
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.write(contentChunk("m", "hello"));
};

interface BalancingPage {
  data: Array<{ route: string; targets: Array<Record<string, unknown>> }>;
  providers: Array<Record<string, unknown>>;
}

async function balancingPage(): Promise<BalancingPage> {
  const response = await t.app.request("/admin/load-balancing", { headers: { authorization: `Bearer ${adminKey}` } });
  return (await response.json()) as BalancingPage;
}
const balancing = async () => (await balancingPage()).data;

describe("concurrency limits", () => {
  it("passes a request over a provider at its limit to the next target at once, and back once the call ends", async () => {
    const stream = await heldStream("mocks");
    expect(stream.provider).toBe("a");
    const callsToA = mocks.a.calls("echo");

    expect(await servedBy("mocks")).toEqual({ provider: "b", attempts: "1" });
    expect(mocks.a.calls("echo")).toBe(callsToA);
    const route = (await balancing()).find((entry) => entry.route === "mocks");
    expect(route?.targets[0]).toMatchObject({ target: "a/echo", in_flight: 1, provider_max_concurrent: 1 });
    expect((await balancingPage()).providers).toContainEqual({ provider: "a", in_flight: 1, max_concurrent: 1 });

    await stream.end();
    expect(await servedBy("mocks")).toEqual({ provider: "a", attempts: "1" });
  });

  it("answers 503 overloaded with Retry-After when every target is saturated, calling no provider and opening no breaker", async () => {
    const held = [await heldStream("a/echo"), await heldStream("b/echo")];
    const calls = mocks.a.calls("echo") + mocks.b.calls("echo");

    for (let i = 0; i < 20; i++) {
      const response = await chat("mocks");
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("overloaded");
    }
    expect(mocks.a.calls("echo") + mocks.b.calls("echo")).toBe(calls);
    expect(t.deps.router.breakers.list().filter((breaker) => breaker.state.status !== "closed")).toEqual([]);

    for (const stream of held) await stream.end();
    expect((await chat("mocks")).status).toBe(200);
  });

  it("holds a model to its own limit, leaving the provider's other models free", async () => {
    alpha.handle(stalledStream);
    const stream = await heldStream("alpha/m", "none");
    alpha.handle(ok);

    expect(await servedBy("alpha-m")).toEqual({ provider: "beta", attempts: "1" });
    expect(await servedBy("alpha-n")).toEqual({ provider: "alpha", attempts: "1" });
    await stream.end();
    expect(await servedBy("alpha-m")).toEqual({ provider: "alpha", attempts: "1" });
  });
});

describe("limits learned from the provider's headers", () => {
  it("passes over a target that said it has no requests left until its reset, before it answers 429", async () => {
    alpha.handle((_, response) => {
      sendJson(response, 200, completion("n"), { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s" });
      alpha.handle(rateLimited);
    });
    expect(await servedBy("alpha-n")).toEqual({ provider: "alpha", attempts: "1" });

    expect(await servedBy("alpha-n")).toEqual({ provider: "beta", attempts: "1" });
    expect(await servedBy("alpha-n")).toEqual({ provider: "beta", attempts: "1" });
    expect(alpha.requests).toHaveLength(1);
    expect(tooMany).toBe(0);
    const route = (await balancing()).find((entry) => entry.route === "alpha-n");
    expect(route?.targets[0]).toMatchObject({ target: "alpha/n", rate_limit_resets_in_ms: 2_000 });

    now += 2_000;
    alpha.handle(ok);
    expect(await servedBy("alpha-n")).toEqual({ provider: "alpha", attempts: "1" });
  });

  it("counts its own calls against what remains: with one request left, a second call at once goes elsewhere", async () => {
    alpha.handle((_, response) =>
      sendJson(response, 200, completion("n"), { "x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "10s" }),
    );
    await servedBy("alpha-n");
    let answerHeld: (() => void) | undefined;
    alpha.handle((_, response) => {
      answerHeld = () =>
        sendJson(response, 200, completion("n"), { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "10s" });
    });

    const first = chat("alpha-n");
    await expect.poll(() => alpha.requests.length).toBe(2);
    expect(await servedBy("alpha-n")).toEqual({ provider: "beta", attempts: "1" });
    answerHeld?.();
    expect((await first).headers.get("x-breakwater-provider")).toBe("alpha");
    now += 10_000;
  });

  it("reads Anthropic's anthropic-ratelimit-* headers, whose resets are RFC 3339 times", async () => {
    claudeHeaders = {
      "anthropic-ratelimit-requests-remaining": "40",
      "anthropic-ratelimit-requests-reset": new Date(now + 5_000).toISOString(),
      "anthropic-ratelimit-input-tokens-remaining": "0",
      "anthropic-ratelimit-input-tokens-reset": new Date(now + 30_000).toISOString(),
    };
    expect(await servedBy("claude-first")).toEqual({ provider: "claude", attempts: "1" });
    expect(await servedBy("claude-first")).toEqual({ provider: "b", attempts: "1" });
    expect(claudeCalls).toHaveLength(1);

    claudeHeaders = {};
    now += 30_000;
    expect(await servedBy("claude-first")).toEqual({ provider: "claude", attempts: "1" });
  });
});
