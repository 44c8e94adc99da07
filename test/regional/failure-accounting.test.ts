import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import type { Clock } from "../../regional/routing/router.ts";
import { contentChunk, sendJson, startFakeUpstream, type FakeUpstream, type RecordedRequest } from "../support/fake-upstream.ts";
import { createTestApp, detailedHealth, postJson, sseDataOf, testAdminKey, type TestApp } from "../support/regional-app.ts";

/**
 * What counts against a breaker: only the provider's own faults. Two fake OpenAI-compatible
 * providers (alpha serves models m and n, beta serves m) and time that moves only when a
 * test moves it.
 */
let alpha: FakeUpstream;
let beta: FakeUpstream;
let t: TestApp;
let now = 5_000_000;
let finalCalls = 0;
const slept: number[] = [];
const clock: Clock = {
  now: () => now,
  sleep: async (ms) => {
    slept.push(ms);
    now += ms;
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
const modelOf = (request: RecordedRequest) => (JSON.parse(request.body) as { model: string }).model;
const ok = (_: RecordedRequest, response: ServerResponse) => sendJson(response, 200, completion("upstream"));
const status =
  (code: number, headers: Record<string, string> = {}) =>
  (_: RecordedRequest, response: ServerResponse) =>
    sendJson(response, code, { error: { message: `status ${code}` } }, headers);

const fast = { firstByteMs: 2_000, firstTokenMs: 2_000, idleMs: 2_000, totalMs: 5_000 };
const retry = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, retryAfterCapMs: 2_000 };
const routes = {
  routes: {
    siblings: {
      targets: [
        { provider: "alpha", model: "m" },
        { provider: "alpha", model: "n" },
      ],
      timeouts: fast,
      retry,
    },
    "alpha-then-beta": {
      targets: [
        { provider: "alpha", model: "m" },
        { provider: "beta", model: "m" },
      ],
      timeouts: fast,
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
    "buggy-first": {
      targets: [
        { provider: "buggy", model: "m" },
        { provider: "beta", model: "m" },
      ],
      timeouts: fast,
      retry,
    },
    "crowded-first": {
      targets: [
        { provider: "crowded", model: "m" },
        { provider: "beta", model: "m" },
      ],
      timeouts: fast,
      retry,
    },
    "crowded-only": { targets: [{ provider: "crowded", model: "m" }], timeouts: fast, retry },
    "final-first": {
      targets: [
        { provider: "final", model: "m" },
        { provider: "beta", model: "m" },
      ],
      timeouts: fast,
      retry,
    },
  },
};

/** A provider whose adapter throws what it throws: a bug of ours, or our own capacity. */
function throwing(name: string, error: () => unknown): Provider {
  const fail = () => Promise.reject(error());
  return { name, models: () => [{ id: "m", kind: "chat" }], chat: fail, chatStream: fail, embeddings: fail };
}

async function freshApp(): Promise<void> {
  await t?.close();
  const openAi = (name: string, baseUrl: string, models: string[]) =>
    createOpenAiProvider({ name, baseUrl, apiKey: `sk-${name}`, models: models.map((id) => ({ id, kind: "chat" as const })) });
  const providers = [
    openAi("alpha", alpha.baseUrl, ["m", "n"]),
    openAi("beta", beta.baseUrl, ["m"]),
    // Nothing listens on port 1: every call is refused.
    openAi("nowhere", "http://127.0.0.1:1/v1", ["m"]),
    throwing("buggy", () => new RangeError("Maximum call stack size exceeded")),
    throwing("crowded", () => new GatewayError("overloaded", { message: "crowded: no connection free within 5000 ms", retryAfterS: 1 })),
    throwing("final", () => {
      finalCalls += 1;
      return new GatewayError("upstream_error", { upstreamStatus: 503, retry: false });
    }),
  ];
  t = await createTestApp(inject("primaryUrl"), { providers, routes, clock, random: () => 0.5, adminKey: testAdminKey });
}

beforeAll(async () => {
  alpha = await startFakeUpstream(ok);
  beta = await startFakeUpstream(ok);
  await freshApp();
});
afterAll(async () => {
  await t?.close();
  await alpha?.close();
  await beta?.close();
});
afterEach(async () => {
  for (const upstream of [alpha, beta]) {
    upstream.requests.length = 0;
    upstream.handle(ok);
  }
  slept.length = 0;
  await freshApp();
});

const chat = (model: string, extra: Record<string, unknown> = {}, init: RequestInit = {}) =>
  t.app.request(
    new Request(postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }], ...extra }, t.apiKey), init),
  );
const breaker = (id: string) => t.deps.router.breakers.list().find((entry) => entry.id === id)?.state;
const failuresIn = (id: string) => (breaker(id)?.buckets ?? []).reduce((sum, [, , failed]) => sum + failed, 0);
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe("breakers blame only the provider", () => {
  it("a model that keeps failing never blocks its sibling on the same provider", async () => {
    alpha.handle((request, response) => (modelOf(request) === "m" ? status(503)(request, response) : ok(request, response)));
    for (let i = 0; i < 15; i++) {
      const response = await chat("siblings");
      expect(response.status).toBe(200);
      expect(((await response.json()) as { model: string }).model).toBe("alpha/upstream");
    }
    expect(breaker("alpha/m")?.status).toBe("open");
    expect(breaker("alpha/n")?.status).toBe("closed");
    expect(breaker("alpha")?.status).toBe("closed");
    // Once open, the failing model is skipped without a call.
    const before = alpha.requests.filter((request) => modelOf(request) === "m").length;
    await chat("siblings");
    expect(alpha.requests.filter((request) => modelOf(request) === "m").length).toBe(before);
  });

  it("a refused connection opens the provider-wide breaker, not the model's", async () => {
    for (let i = 0; i < 3; i++) expect((await chat("refused-first")).status).toBe(200);
    expect(breaker("nowhere")?.status).toBe("open");
    expect(breaker("nowhere/m")?.status).toBe("closed");
  });

  it("says a provider could not be reached without telling its address", async () => {
    const response = await chat("nowhere/m");
    expect(response.status).toBe(503);
    const { message } = await errorOf(response);
    expect(message).toContain("ECONNREFUSED");
    expect(message).not.toContain("127.0.0.1");
  });

  it("a bug of ours is answered as a generic 500 and counts against no breaker", async () => {
    const response = await t.app.request(
      new Request(postJson("/v1/chat/completions", { model: "buggy/m", messages: [{ role: "user", content: "hi" }] }, t.apiKey)),
    );
    expect(response.status).toBe(500);
    const error = await errorOf(response);
    expect(error.code).toBe("internal_error");
    expect(error.message).not.toContain("Maximum call stack");
    for (let i = 0; i < 10; i++) await chat("buggy/m");
    expect(breaker("buggy")?.status).toBe("closed");
    expect(failuresIn("buggy")).toBe(0);
    expect(failuresIn("buggy/m")).toBe(0);
  });

  it("no local connection free is our capacity: the next target serves, and alone it is 503 overloaded", async () => {
    const fallback = await chat("crowded-first");
    expect(fallback.status).toBe(200);
    expect(fallback.headers.get("x-breakwater-provider")).toBe("beta");
    const alone = await chat("crowded-only");
    expect(alone.status).toBe(503);
    expect(alone.headers.get("retry-after")).toBe("1");
    expect((await errorOf(alone)).code).toBe("overloaded");
    for (let i = 0; i < 10; i++) await chat("crowded-only");
    expect(breaker("crowded")?.status).toBe("closed");
    expect(failuresIn("crowded/m")).toBe(0);
  });

  it("a provider that says not to retry (x-should-retry: false) is not retried: the next target serves at once", async () => {
    finalCalls = 0;
    const response = await chat("final-first");
    expect(response.headers.get("x-breakwater-provider")).toBe("beta");
    expect(finalCalls).toBe(1);
  });

  it("the all-targets-failed 503 names its attempts in x-breakwater-attempts", async () => {
    alpha.handle(status(500));
    beta.handle(status(502));
    const response = await chat("alpha-then-beta");
    expect(response.status).toBe(503);
    expect(response.headers.get("x-breakwater-attempts")).toBe("6");
  });

  it("a client fault returned as is carries x-breakwater-attempts too", async () => {
    alpha.handle(status(400));
    const response = await chat("alpha-then-beta");
    expect(response.status).toBe(400);
    expect(response.headers.get("x-breakwater-attempts")).toBe("1");
  });
});

describe("429 means cool down, not broken", () => {
  it("waits out Retry-After on the same target and leaves its breaker closed", async () => {
    let calls = 0;
    alpha.handle((request, response) => (calls++ < 1 ? status(429, { "retry-after": "1" })(request, response) : ok(request, response)));
    const response = await chat("alpha-then-beta");
    expect(response.headers.get("x-breakwater-provider")).toBe("alpha");
    expect(slept).toEqual([1_000]);
    expect(failuresIn("alpha/m")).toBe(0);
    expect(breaker("alpha/m")?.status).toBe("closed");
  });

  it("many 429s never open the breaker", async () => {
    alpha.handle(status(429, { "retry-after": "1" }));
    for (let i = 0; i < 10; i++) expect((await chat("alpha-then-beta")).headers.get("x-breakwater-provider")).toBe("beta");
    expect(breaker("alpha/m")?.status).toBe("closed");
    expect(breaker("alpha")?.status).toBe("closed");
    expect(failuresIn("alpha/m")).toBe(0);
  });

  it("a cool-down longer than the cap sends the next requests to the next target at once, without calling", async () => {
    alpha.handle(status(429, { "retry-after": "30" }));
    expect((await chat("alpha-then-beta")).headers.get("x-breakwater-provider")).toBe("beta");
    expect(alpha.requests).toHaveLength(1);
    alpha.handle(ok);
    expect((await chat("alpha-then-beta")).headers.get("x-breakwater-provider")).toBe("beta");
    expect(alpha.requests).toHaveLength(1);
    expect(slept).toEqual([]);
    const health = (await (await detailedHealth(t)).json()) as { cool_downs: Array<{ target: string }> };
    expect(health.cool_downs.map((entry) => entry.target)).toEqual(["alpha/m"]);
    now += 30_000;
    expect((await chat("alpha-then-beta")).headers.get("x-breakwater-provider")).toBe("alpha");
  });
});

describe("cancellation and probe leases", () => {
  it("clients hanging up mid-stream count against no breaker", async () => {
    alpha.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(contentChunk("m", "first "));
    });
    for (let i = 0; i < 10; i++) {
      const client = new AbortController();
      const response = await chat("alpha-then-beta", { stream: true }, { signal: client.signal });
      const reader = response.body!.getReader();
      await reader.read();
      client.abort();
      await reader.cancel().catch(() => {});
    }
    await waitFor(() => alpha.requests.length === 10);
    expect(breaker("alpha/m")?.status).toBe("closed");
    expect(failuresIn("alpha/m")).toBe(0);
    expect(failuresIn("alpha")).toBe(0);
  });

  it("a client that hangs up mid-stream still has the streamed tokens recorded as usage", async () => {
    alpha.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(contentChunk("m", "twelve chars"));
    });
    const client = new AbortController();
    const response = await chat("alpha-then-beta", { stream: true }, { signal: client.signal });
    const reader = response.body!.getReader();
    await reader.read();
    client.abort();
    await reader.cancel().catch(() => {});
    let rows: Array<{ completion_tokens: number | null; prompt_tokens: number | null }> = [];
    await waitFor(async () => {
      rows = await t.db.write<
        Array<{ completion_tokens: number | null; prompt_tokens: number | null }>
      >`select completion_tokens, prompt_tokens from usage where tenant_id = ${t.tenantId}`;
      return rows.length > 0;
    });
    expect(rows[0]).toEqual({ completion_tokens: 3, prompt_tokens: 5 });
  });

  it("half-open probes whose clients abort give their slots back: the next call is admitted", async () => {
    alpha.handle(status(500));
    await chat("alpha-then-beta");
    await chat("alpha-then-beta");
    expect(breaker("alpha/m")?.status).toBe("open");
    now += 60_000;
    // Three probes the upstream never answers, each abandoned by its client.
    alpha.handle(() => {});
    const clients = Array.from({ length: 3 }, () => new AbortController());
    const pending = clients.map((client) => Promise.resolve(chat("alpha/m", {}, { signal: client.signal })).catch(() => undefined));
    await waitFor(() => alpha.requests.length === 8);
    expect(breaker("alpha/m")?.status).toBe("half_open");
    for (const client of clients) client.abort();
    await Promise.all(pending);
    alpha.handle(ok);
    const next = await chat("alpha-then-beta");
    expect(next.headers.get("x-breakwater-provider")).toBe("alpha");
  });

  it("forcing a breaker back to auto starts a fresh window", async () => {
    alpha.handle(status(500));
    await chat("alpha/m", {}); // 3 failures
    t.deps.router.breakers.force("alpha/m", "closed");
    await chat("alpha/m", {}); // 3 more, held closed
    t.deps.router.breakers.force("alpha/m", null);
    expect(failuresIn("alpha/m")).toBe(0);
    alpha.handle(ok);
    await chat("alpha-then-beta");
    alpha.handle(status(500));
    await chat("alpha-then-beta");
    expect(breaker("alpha/m")?.status).toBe("closed");
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
