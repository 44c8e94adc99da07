import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Clock } from "../../regional/routing/router.ts";
import { contentChunk, sendJson, startFakeUpstream, type FakeUpstream, type RecordedRequest } from "../support/fake-upstream.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

/** Three OpenAI-compatible providers, each a fake HTTP upstream the test steers. */
const names = ["alpha", "beta", "gamma"] as const;
type Name = (typeof names)[number];
const upstreams = {} as Record<Name, FakeUpstream>;

/** Time stands still unless a test moves it; sleeps are recorded and return at once. */
let now = 1_000_000;
const slept: number[] = [];
const clock: Clock = {
  now: () => now,
  sleep: async (ms) => {
    slept.push(ms);
  },
};

const completion = (model: string) => ({
  id: "chatcmpl-x",
  object: "chat.completion",
  created: 1,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: `answer from ${model}` }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
});
const ok = (model: string) => (_: RecordedRequest, response: ServerResponse) => sendJson(response, 200, completion(model));
const failWith =
  (status: number, body: unknown = { error: { message: `status ${status}` } }, headers: Record<string, string> = {}) =>
  (_: RecordedRequest, response: ServerResponse) =>
    sendJson(response, status, body, headers);

const fast = { firstByteMs: 2_000, firstTokenMs: 150, idleMs: 150, totalMs: 5_000 };
const retry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, retryAfterCapMs: 2_000 };

function routes() {
  return {
    routes: {
      "fast-chat": {
        targets: [
          { provider: "alpha", model: "m" },
          { provider: "beta", model: "m" },
        ],
        timeouts: fast,
        retry,
      },
      "solo-chat": { targets: [{ provider: "alpha", model: "m" }], timeouts: fast, retry, breaker: { failureThreshold: 100_000 } },
      "big-context": {
        targets: [
          { provider: "alpha", model: "m", contextWindow: 8_000 },
          { provider: "beta", model: "m", contextWindow: 8_000 },
          { provider: "gamma", model: "m", contextWindow: 128_000 },
        ],
        retry,
      },
      "refused-first": {
        targets: [
          { provider: "nowhere", model: "m" },
          { provider: "beta", model: "m" },
        ],
        timeouts: fast,
        retry,
      },
      impatient: {
        targets: [
          { provider: "alpha", model: "m" },
          { provider: "beta", model: "m" },
        ],
        timeouts: { ...fast, firstByteMs: 100 },
        retry,
      },
      "lenient-policy": {
        targets: [
          { provider: "alpha", model: "m" },
          { provider: "beta", model: "m" },
        ],
        fallbackOnContentPolicy: true,
        retry,
      },
    },
  };
}

let t: TestApp;

async function freshApp(): Promise<TestApp> {
  await t?.close();
  const providers = names.map((name) =>
    createOpenAiProvider({ name, baseUrl: upstreams[name].baseUrl, apiKey: `sk-${name}`, models: [{ id: "m", kind: "chat" }] }),
  );
  // Nothing listens on port 1: every call is refused.
  providers.push(
    createOpenAiProvider({ name: "nowhere", baseUrl: "http://127.0.0.1:1/v1", apiKey: "sk-x", models: [{ id: "m", kind: "chat" }] }),
  );
  t = await createTestApp(inject("primaryUrl"), {
    providers,
    routes: routes(),
    clock,
    random: () => 0.5,
    retryBudget: { ratio: 0.2, floor: 3, windowMs: 10_000 },
  });
  return t;
}

beforeAll(async () => {
  for (const name of names) upstreams[name] = await startFakeUpstream(ok(`${name}-m`));
  await freshApp();
});
afterAll(async () => {
  await t?.close();
  for (const name of names) await upstreams[name]?.close();
});
afterEach(async () => {
  for (const name of names) {
    upstreams[name].requests.length = 0;
    upstreams[name].handle(ok(`${name}-m`));
  }
  slept.length = 0;
  await freshApp();
});

const calls = (name: Name) => upstreams[name].requests.length;
const chat = (model: string, extra: Record<string, unknown> = {}, init: RequestInit = {}) =>
  t.app.request(
    new Request(postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }], ...extra }, t.apiKey), init),
  );
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe("fallback and retries", () => {
  it("falls back to the next provider when the first keeps answering 503", async () => {
    upstreams.alpha.handle(failWith(503));
    const response = await chat("fast-chat");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    expect(response.headers.get("x-breakwater-attempts")).toBe("4");
    const body = (await response.json()) as { model: string; usage: { total_tokens: number } };
    expect(body.model).toBe("beta/beta-m");
    expect(calls("alpha")).toBe(3);
    expect(calls("beta")).toBe(1);
    expect(slept).toHaveLength(2);
    expect(slept.every((ms) => ms >= 0 && ms <= 5)).toBe(true);
  });

  it("waits as long as Retry-After says, then retries the same provider", async () => {
    let first = true;
    upstreams.alpha.handle((request, response) => {
      if (first) {
        first = false;
        return failWith(429, { error: { message: "slow down" } }, { "retry-after": "1" })(request, response);
      }
      return ok("alpha-m")(request, response);
    });
    const response = await chat("fast-chat");
    expect(response.headers.get("x-breakwater-provider")).toBe("alpha");
    expect(slept).toEqual([1_000]);
    expect(calls("alpha")).toBe(2);
  });

  it("gives up on a provider that sends no response headers in time, once, and falls back", async () => {
    upstreams.alpha.handle((_, response) => new Promise<void>((resolve) => response.once("close", resolve)));
    const response = await chat("impatient");
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    expect(response.headers.get("x-breakwater-attempts")).toBe("2");
    expect(calls("alpha")).toBe(1);
  });

  it("retries a refused connection, then falls back", async () => {
    const response = await chat("refused-first");
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    expect(response.headers.get("x-breakwater-attempts")).toBe("4");
  });

  it("moves on at once when Retry-After is longer than the cap", async () => {
    upstreams.alpha.handle(failWith(429, {}, { "retry-after": "30" }));
    const response = await chat("fast-chat");
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    expect(slept).toEqual([]);
    expect(calls("alpha")).toBe(1);
  });

  it("never retries or routes around a client fault", async () => {
    upstreams.alpha.handle(failWith(400, { error: { message: "temperature is invalid", param: "temperature" } }));
    const response = await chat("fast-chat");
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "invalid_request", message: "temperature is invalid" });
    expect(calls("alpha")).toBe(1);
    expect(calls("beta")).toBe(0);
  });

  it("answers 503 with each attempt's reason and Retry-After when every target fails", async () => {
    upstreams.alpha.handle(failWith(503, { error: { message: "alpha down" } }, { "retry-after": "1" }));
    upstreams.beta.handle(failWith(502, { error: { message: "beta down" } }, { "retry-after": "4" }));
    const response = await chat("fast-chat");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const error = await errorOf(response);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("alpha/m: alpha failed with 503: alpha down");
    expect(error.message).toContain("beta/m: beta failed with 502: beta down");
  });

  it("moves a context-length failure only to a target with a larger context window", async () => {
    upstreams.alpha.handle(
      failWith(400, { error: { message: "This model's maximum context length is 8192 tokens", code: "context_length_exceeded" } }),
    );
    const response = await chat("big-context");
    expect(response.headers.get("x-breakwater-provider")).toBe("gamma");
    expect(calls("alpha")).toBe(1);
    expect(calls("beta")).toBe(0);
  });

  it("returns a content-policy rejection as given, unless the route allows falling back", async () => {
    const policy = failWith(400, { error: { message: "flagged by the safety system", code: "content_policy_violation" } });
    upstreams.alpha.handle(policy);
    const strict = await chat("fast-chat");
    expect(strict.status).toBe(400);
    expect(await errorOf(strict)).toMatchObject({ code: "content_policy_violation", message: "flagged by the safety system" });
    expect(calls("beta")).toBe(0);
    const lenient = await chat("lenient-policy");
    expect(lenient.headers.get("x-breakwater-provider")).toBe("beta");
  });

  it("keeps total upstream calls within 1.2× the requests when a provider is down", async () => {
    upstreams.alpha.handle(failWith(503));
    const requests = 200;
    for (let i = 0; i < requests; i++) expect((await chat("solo-chat")).status).toBe(503);
    expect(calls("alpha")).toBeLessThanOrEqual(Math.ceil(requests * 1.2) + 3);
    expect(calls("alpha")).toBeGreaterThanOrEqual(requests);
  });
});

describe("circuit breakers", () => {
  it("open after 5 failures, skip the provider, and recover through half-open", async () => {
    upstreams.alpha.handle(failWith(500));
    await chat("fast-chat");
    await chat("fast-chat");
    expect(calls("alpha")).toBe(5);
    const skipped = await chat("fast-chat");
    expect(skipped.headers.get("x-breakwater-provider")).toBe("beta");
    expect(calls("alpha")).toBe(5);
    const status = (id: string) => t.deps.router.breakers.list().find((breaker) => breaker.id === id)?.state.status;
    // What the model answered opens the model's breaker; the provider's connection is sound.
    expect(status("alpha/m")).toBe("open");
    expect(status("alpha")).toBe("closed");

    upstreams.alpha.handle(ok("alpha-m"));
    now += 60_000;
    expect((await chat("fast-chat")).headers.get("x-breakwater-provider")).toBe("alpha");
    expect(status("alpha/m")).toBe("half_open");
    expect((await chat("fast-chat")).headers.get("x-breakwater-provider")).toBe("alpha");
    expect(status("alpha/m")).toBe("closed");
  });

  it("open per model when the provider says that model is overloaded (529), leaving the provider's closed", async () => {
    upstreams.alpha.handle(failWith(529, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
    await chat("fast-chat");
    await chat("fast-chat");
    const breakers = Object.fromEntries(t.deps.router.breakers.list().map((breaker) => [breaker.id, breaker.state.status]));
    expect(breakers).toMatchObject({ "alpha/m": "open", alpha: "closed" });
    expect((await chat("fast-chat")).headers.get("x-breakwater-provider")).toBe("beta");
    expect(calls("alpha")).toBe(5);
  });

  it("reopens when a half-open probe fails", async () => {
    upstreams.alpha.handle(failWith(500));
    await chat("fast-chat");
    await chat("fast-chat");
    now += 60_000;
    await chat("fast-chat");
    expect(t.deps.router.breakers.list().find((breaker) => breaker.id === "alpha/m")?.state.status).toBe("open");
    expect(calls("alpha")).toBe(6);
  });
});

/** A stream the test scripts step by step: each step writes, then may wait. */
function streaming(steps: Array<string | "stall" | "break">) {
  return async (_: RecordedRequest, response: ServerResponse) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    for (const step of steps) {
      if (step === "stall") return new Promise<void>((resolve) => response.once("close", resolve));
      // Give written bytes time to reach the gateway before the connection drops.
      if (step === "break") return setTimeout(() => response.destroy(), 50);
      response.write(step);
    }
    response.end();
  };
}
const roleChunk = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })}\n\n`;

describe("streams", () => {
  it("fall back when no content arrives within the first-token timeout, headers notwithstanding", async () => {
    upstreams.alpha.handle(streaming([roleChunk, "stall"]));
    upstreams.beta.handle(streaming([contentChunk("beta-m", "from beta", "stop"), "data: [DONE]\n\n"]));
    const response = await chat("fast-chat", { stream: true });
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    const events = await sseDataOf(response);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.join("")).toContain("from beta");
    expect(calls("alpha")).toBe(1);
  });

  it("end with an error and no [DONE] when the provider goes silent mid-stream", async () => {
    upstreams.alpha.handle(streaming([contentChunk("alpha-m", "partial "), "stall"]));
    const response = await chat("fast-chat", { stream: true });
    expect(response.headers.get("x-breakwater-provider")).toBe("alpha");
    const events = await sseDataOf(response);
    expect(events).not.toContain("[DONE]");
    expect(events[0]).toContain("partial ");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_timeout" } });
    expect(calls("beta")).toBe(0);
  });

  it("never fall back once bytes reached the client: a break mid-way ends with an error", async () => {
    upstreams.alpha.handle(streaming([contentChunk("alpha-m", "partial "), "break"]));
    const events = await sseDataOf(await chat("fast-chat", { stream: true }));
    expect(events[0]).toContain("partial ");
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toHaveProperty("error");
    expect(calls("beta")).toBe(0);
  });

  it("are closed with [DONE] when the provider finishes cleanly but omits it", async () => {
    upstreams.alpha.handle(streaming([contentChunk("alpha-m", "all "), contentChunk("alpha-m", "done", "stop")]));
    const events = await sseDataOf(await chat("fast-chat", { stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    expect(events).toHaveLength(3);
  });

  it("fail when the provider closes without finishing the answer", async () => {
    upstreams.alpha.handle(streaming([contentChunk("alpha-m", "cut ")]));
    const events = await sseDataOf(await chat("fast-chat", { stream: true }));
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({
      error: { message: expect.stringContaining("before the answer was complete") },
    });
  });

  it("ask the provider for usage, and pass the usage chunk on only when the client asked", async () => {
    const usage = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })}\n\n`;
    upstreams.alpha.handle(streaming([contentChunk("alpha-m", "x", "stop"), usage, "data: [DONE]\n\n"]));
    const quiet = await sseDataOf(await chat("fast-chat", { stream: true }));
    expect(JSON.parse(upstreams.alpha.requests[0]?.body ?? "{}")).toMatchObject({ stream_options: { include_usage: true } });
    expect(quiet.some((data) => data.includes('"usage"'))).toBe(false);
    const asked = await sseDataOf(await chat("fast-chat", { stream: true, stream_options: { include_usage: true } }));
    expect((JSON.parse(asked.at(-2) ?? "{}") as ChatCompletionChunk).usage).toEqual({
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
    });
  });

  it("cancel the upstream call when the client disconnects", async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    upstreams.alpha.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(contentChunk("alpha-m", "first "));
      response.once("close", upstreamClosed);
    });
    const client = new AbortController();
    const response = await chat("fast-chat", { stream: true }, { signal: client.signal });
    const reader = response.body!.getReader();
    await reader.read();
    client.abort();
    await reader.cancel().catch(() => {});
    await closed;
    expect(calls("alpha")).toBe(1);
  });
});

describe("models", () => {
  it("lists routes as models, then each provider's own", async () => {
    const response = await t.app.request("/v1/models", { headers: { authorization: `Bearer ${t.apiKey}` } });
    const ids = ((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
    expect(ids).toEqual([
      "fast-chat",
      "solo-chat",
      "big-context",
      "refused-first",
      "impatient",
      "lenient-policy",
      "alpha/m",
      "beta/m",
      "gamma/m",
      "nowhere/m",
    ]);
  });
});
