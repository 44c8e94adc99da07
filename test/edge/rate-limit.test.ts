import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../edge/env.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { createKey, edgeFetch, edgeFetchWith, errorBody, fakeOrigin, opsHeaders } from "./harness.ts";

// The limits refill with time; frozen time makes every count exact. The Durable Objects
// run in this isolate, so they see the same clock.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** What the key's (or tenant's) tokens bucket holds now, asking its limiter directly. */
async function tokensLeft(scope: "key" | "tenant", record: KeyRecord): Promise<number> {
  const [name, limits] = scope === "key" ? [`key:${record.key_id}`, record.limits] : [`tenant:${record.tenant_id}`, record.tenant_limits];
  const result = await env.RATE_LIMITER.getByName(name).peek([{ bucket: "tokens", limit: limits.tpm, periodMs: 60_000, cost: 0 }]);
  return result.levels[0]!.remaining;
}

function chat(body: Record<string, unknown>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], ...body }),
  };
}

/** `hi` → 1 token of text + 4 for the message: what the edge counts as the prompt. */
const promptEstimate = 5;

describe("rate limits at the edge", () => {
  it("sends RateLimit-Policy and RateLimit for the key and its tenant on every response", async () => {
    const { key } = await createKey({ limits: { rpm: 10, tpm: 1_000 }, tenantLimits: { rpm: 100, tpm: 100_000 } });

    const res = await edgeFetch("/v1/echo", {}, key);

    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe(
      '"key-requests";q=10;w=60, "key-tokens";q=1000;w=60;qu="tokens", "tenant-requests";q=100;w=60, "tenant-tokens";q=100000;w=60;qu="tokens"',
    );
    expect(res.headers.get("ratelimit")).toBe(
      '"key-requests";r=9;t=6, "key-tokens";r=1000;t=0, "tenant-requests";r=99;t=1, "tenant-tokens";r=100000;t=0',
    );
    // The origin's own errors carry them too.
    const failed = await edgeFetch("/v1/overloaded", {}, key);
    expect(failed.status).toBe(503);
    expect(failed.headers.get("ratelimit")).toMatch(/^"key-requests";r=8;/);
  });

  it("lets exactly 100 of 200 concurrent requests through a limit of 100 a minute", async () => {
    const { key } = await createKey({ limits: { rpm: 100 } });

    const responses = await Promise.all(Array.from({ length: 200 }, () => edgeFetch("/v1/echo", {}, key)));

    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(100);
    expect(statuses.filter((status) => status === 429)).toHaveLength(100);
    await Promise.all(responses.map((res) => res.body?.cancel()));
  });

  it("holds a tenant to its limit across all its keys, exactly", async () => {
    const tenantId = crypto.randomUUID();
    const keys = await Promise.all([0, 1].map(() => createKey({ tenantId, tenantLimits: { rpm: 100 } })));

    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => edgeFetch("/v1/echo", {}, keys[i % 2]!.key)));

    expect(responses.filter((res) => res.status === 200)).toHaveLength(100);
    const refused = responses.find((res) => res.status === 429)!;
    expect((await errorBody(refused)).error.message).toContain("tenant");
    await Promise.all(responses.map((res) => (res.bodyUsed ? undefined : res.body?.cancel())));
  });

  it("answers 429 rate_limited in the error shape with Retry-After once the key's requests are spent", async () => {
    const { key } = await createKey({ limits: { rpm: 2 } });
    await edgeFetch("/v1/echo", {}, key);
    await edgeFetch("/v1/echo", {}, key);

    const res = await edgeFetch("/v1/echo", { headers: { "x-request-id": "client-req:0429" } }, key);

    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(res.headers.get("ratelimit")).toMatch(/^"key-requests";r=0;t=60, /);
    expect(await errorBody(res)).toEqual({
      error: {
        message: "Rate limit exceeded (key limit).",
        type: "rate_limit_error",
        code: "rate_limited",
        param: null,
        request_id: "client-req:0429",
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
    vi.setSystemTime(Date.now() + 30_000);
    expect((await edgeFetch("/v1/echo", {}, key)).status).toBe(200);
  });

  it("holds back the estimated tokens before the call: a request that does not fit is refused", async () => {
    const { key } = await createKey({ limits: { tpm: 1_000 } });

    expect((await edgeFetch("/v1/chat/completions", chat({ max_tokens: 600 }), key)).status).toBe(200);
    const refused = await edgeFetch("/v1/chat/completions", chat({ max_tokens: 600 }), key);

    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit")).toContain('"key-tokens";r=395;');
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("refuses max_tokens above the ceiling with 400 naming it, before reserving anything or calling the origin", async () => {
    const { key, record } = await createKey({ limits: { tpm: 100_000 } });
    const calls = crypto.randomUUID();
    const bindings = { MAX_TOKENS_CEILING: "1000" };

    for (const [body, param] of [
      [{ max_tokens: 1_001 }, "max_tokens"],
      [{ max_completion_tokens: 5_000 }, "max_completion_tokens"],
      [{ max_tokens: 600, n: 2 }, "max_tokens"],
    ] as const) {
      const refused = await edgeFetchWith(bindings, "/v1/chat/completions", chat(body, { "x-test-calls": calls }), key);
      expect(refused.status).toBe(400);
      expect((await errorBody(refused)).error).toMatchObject({ code: "invalid_request", param });
    }
    expect(await fakeOrigin.calls(calls)).toBe(0);
    expect(await tokensLeft("key", record)).toBe(100_000);
    expect((await edgeFetchWith(bindings, "/v1/chat/completions", chat({ max_tokens: 1_000 }), key)).status).toBe(200);
  });

  it("never lets one request ask for more completion tokens than its key may use in a minute", async () => {
    const { key } = await createKey({ limits: { tpm: 5_000 } });

    // Far above the key's budget: before, it was reserved as the whole budget and ran.
    const refused = await edgeFetch("/v1/chat/completions", chat({ max_tokens: 1_000_000 }), key);
    expect(refused.status).toBe(400);
    expect((await errorBody(refused)).error.param).toBe("max_tokens");
  });

  it("holds back a request without max_tokens as if it asked for a quarter of its key's minute, at most the ceiling", async () => {
    const { key, record } = await createKey({ limits: { tpm: 40_000 } });

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({}, { "x-test-usage": "30" }), key);
    // Before, 256 tokens were held back, whatever the model went on to write.
    expect(res.headers.get("ratelimit")).toContain(`"key-tokens";r=${40_000 - 10_000 - promptEstimate};`);
    // The body goes on as the client sent it: the provider's own limit for the model applies.
    expect(((await res.json()) as { max_tokens: number | null }).max_tokens).toBeNull();
    await res.settled();
    expect(await tokensLeft("key", record)).toBe(40_000 - 30);

    const roomy = await createKey({ limits: { tpm: 400_000 } });
    const capped = await edgeFetch("/v1/chat/completions", chat({}), roomy.key);
    expect(capped.headers.get("ratelimit")).toContain(`"key-tokens";r=${400_000 - 32_768 - promptEstimate};`);
    await capped.body?.cancel();
  });

  it("replaces the estimate with the usage a JSON response reports", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 }, tenantLimits: { tpm: 20_000 } });

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({ max_tokens: 1_000 }, { "x-test-usage": "50" }), key);
    expect(res.headers.get("ratelimit")).toContain(`"key-tokens";r=${10_000 - 1_000 - promptEstimate};`);
    await res.json();
    await res.settled();

    expect(await tokensLeft("key", record)).toBe(10_000 - 50);
    expect(await tokensLeft("tenant", record)).toBe(20_000 - 50);
  });

  it("charges usage beyond the estimate too", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({ max_tokens: 10 }, { "x-test-usage": "4000" }), key);
    await res.json();
    await res.settled();

    expect(await tokensLeft("key", record)).toBe(6_000);
  });

  it("gives the tokens back when the origin answers with an error", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({ max_tokens: 1_000 }, { "x-test-status": "503" }), key);
    expect(res.status).toBe(503);
    await res.text();
    await res.settled();

    expect(await tokensLeft("key", record)).toBe(10_000);
  });

  it("asks a stream for its usage, counts it, and leaves the usage chunk out when the client did not ask", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({ stream: true, max_tokens: 1_000 }, { "x-test-usage": "70" }), key);
    const text = await res.text();
    await res.settled();

    expect(text).toContain("twelve chars");
    expect(text).not.toContain('"usage"');
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await tokensLeft("key", record)).toBe(10_000 - 70);
  });

  it("passes the usage chunk on when the client asked for it", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await edgeFetchWith(
      {},
      "/v1/chat/completions",
      chat({ stream: true, stream_options: { include_usage: true } }, { "x-test-usage": "70" }),
      key,
    );
    const text = await res.text();
    await res.settled();

    expect(text).toContain('"total_tokens":70');
    expect(await tokensLeft("key", record)).toBe(10_000 - 70);
  });

  it("counts what was streamed when the client hangs up mid-stream, and stops the origin", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });
    const id = crypto.randomUUID();

    const res = await edgeFetchWith(
      {},
      "/v1/chat/completions",
      chat({ stream: true, max_tokens: 1_000 }, { "x-test-usage": "70", "x-test-hold": id }),
      key,
    );
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    await reader.cancel();
    await res.settled();

    // No usage chunk came: the prompt as estimated, and "twelve chars" at 4 characters a token.
    expect(await tokensLeft("key", record)).toBe(10_000 - promptEstimate - 3);
    await fakeOrigin.closed(id);
  });

  it("keeps its counts when its Durable Object restarts", async () => {
    const { key, record } = await createKey({ limits: { rpm: 5 } });
    for (let i = 0; i < 3; i++) expect((await edgeFetch("/v1/echo", {}, key)).status).toBe(200);

    await evictDurableObject(env.RATE_LIMITER.getByName(`key:${record.key_id}`));

    const after = await edgeFetch("/v1/echo", {}, key);
    expect(after.headers.get("ratelimit")).toMatch(/^"key-requests";r=1;/);
    expect((await edgeFetch("/v1/echo", {}, key)).status).toBe(200);
    expect((await edgeFetch("/v1/echo", {}, key)).status).toBe(429);
  });
});

describe("when a limiter cannot be reached", () => {
  /** A namespace whose objects fail, for the names `failing` picks. */
  function brokenLimiters(failing: (name: string) => boolean, how: "throw" | "hang" = "throw"): Env["RATE_LIMITER"] {
    const broken = () => (how === "throw" ? Promise.reject(new Error("Durable Object overloaded")) : new Promise<never>(() => {}));
    const namespace = {
      getByName: (name: string) => (failing(name) ? { take: broken, peek: broken, adjust: broken } : env.RATE_LIMITER.getByName(name)),
    };
    return namespace as unknown as Env["RATE_LIMITER"];
  }

  it("lets the request through by default, logs it and counts it in /metrics", async () => {
    const warn = vi.spyOn(console, "warn");
    const { key } = await createKey();

    const res = await edgeFetchWith({ RATE_LIMITER: brokenLimiters((name) => name.startsWith("key:")) }, "/v1/echo", {}, key);

    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toContain('"key-requests";q=1000000');
    // Only the tenant's limiter answered, so only its levels are known.
    expect(res.headers.get("ratelimit")).toMatch(/^"tenant-requests";r=\d+;t=\d+, "tenant-tokens"/);
    expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ msg: "rate limiter unreachable", policy: "key", mode: "open" }),
    );
    const metrics = await (await edgeFetch("/metrics", { headers: opsHeaders }, null)).text();
    expect(metrics).toMatch(/^breakwater_edge_limiter_unreachable_total\{mode="open",policy="key"\} [1-9]\d*$/m);
  });

  it("answers 503 with Retry-After where the policy fails closed, and gives back what the other limiter took", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });
    const bindings = { TENANT_LIMIT_ON_ERROR: "closed", RATE_LIMITER: brokenLimiters((name) => name.startsWith("tenant:")) };

    const res = await edgeFetchWith(bindings, "/v1/chat/completions", chat({ max_tokens: 1_000 }), key);
    await res.settled();

    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await errorBody(res)).error.code).toBe("unavailable");
    expect(await tokensLeft("key", record)).toBe(10_000);
  });

  it("counts a limiter that does not answer within a second as unreachable", async () => {
    const { key } = await createKey();

    const res = await edgeFetchWith(
      { KEY_LIMIT_ON_ERROR: "closed", RATE_LIMITER: brokenLimiters((name) => name.startsWith("key:"), "hang") },
      "/v1/echo",
      {},
      key,
    );

    expect(res.status).toBe(503);
  });
});

describe("request bodies at the edge", () => {
  it("answers 413 for a body declared larger than 1 MiB", async () => {
    const res = await edgeFetch("/v1/echo", {
      method: "POST",
      headers: { "content-length": String(1024 * 1024 + 1) },
      body: "x".repeat(1024 * 1024 + 1),
    });

    expect(res.status).toBe(413);
    expect((await errorBody(res)).error.code).toBe("payload_too_large");
  });

  it("answers 413 for a streamed body that grows past 1 MiB", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const pending = edgeFetch("/v1/echo", { method: "POST", body: readable });
    const chunk = new Uint8Array(64 * 1024);
    const writing = (async () => {
      for (let i = 0; i < 17; i++) await writer.write(chunk);
      await writer.close();
    })().catch(() => {});

    const res = await pending;
    expect(res.status).toBe(413);
    await writing;
  });
});
