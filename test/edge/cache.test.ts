import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Redis } from "@upstash/redis/cloudflare";
import { cacheKey, responseCacheRedisKey } from "../../shared/cache-key.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { l1Url } from "../../edge/cache/l1.ts";
import { clearMemoryTier } from "../../edge/cache/memory.ts";
import { followersOf } from "../../edge/cache/single-flight.ts";
import type { Env } from "../../edge/env.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { createKey, edgeFetchWith, fakeOrigin, metricSum, readToEnd } from "./harness.ts";

const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL ?? "", token: env.UPSTASH_REDIS_REST_TOKEN ?? "", enableTelemetry: false });

// Entry ages come from Date: frozen, every Age and every expiry is exact. The Durable
// Objects and the Worker run in this isolate and see the same clock.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
});

interface Answer {
  status: number;
  xCache: string | null;
  age: string | null;
  /** `x-breakwater-degraded`: set when the answer is a stand-in (`stale`). */
  degraded: string | null;
  type: string | null;
  text: string;
  /** `served` of a numbered fake-origin answer: which origin call produced it. */
  served: number | undefined;
}

/** One request through the Worker, read to its end, with its background work (cache writes) done. */
async function call(path: string, init: RequestInit, key: string, bindings: Partial<Env> = {}): Promise<Answer> {
  const res = await edgeFetchWith(bindings, path, init, key);
  const text = await res.text();
  await res.settled();
  let served: number | undefined;
  try {
    served = (JSON.parse(text) as { served?: number }).served;
  } catch {
    served = undefined;
  }
  return {
    status: res.status,
    xCache: res.headers.get("x-cache"),
    age: res.headers.get("age"),
    degraded: res.headers.get("x-breakwater-degraded"),
    type: res.headers.get("content-type"),
    text,
    served,
  };
}

function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** The cache key of an embeddings request for `input` from this tenant. */
async function embedKey(record: KeyRecord, input: string): Promise<string> {
  return await cacheKey({
    tenantId: record.tenant_id,
    method: "POST",
    path: "/v1/embeddings",
    query: "",
    body: { model: "mock/embed", input },
  });
}

const embed = (input: string, headers: Record<string, string> = {}) => post({ model: "mock/embed", input }, headers);
const chatBody = (extra: Record<string, unknown> = {}) => ({ model: "mock/echo", messages: [{ role: "user", content: "hi" }], ...extra });

/** A tenant of its own and a name its origin calls are counted under. */
async function fresh(options: Parameters<typeof createKey>[0] = {}): Promise<{ key: string; record: KeyRecord; calls: string }> {
  const { key, record } = await createKey(options);
  return { key, record, calls: crypto.randomUUID() };
}

async function tokensLeft(record: KeyRecord): Promise<number> {
  const result = await env.RATE_LIMITER.getByName(`key:${record.key_id}`).peek([
    { bucket: "tokens", limit: record.limits.tpm, periodMs: 60_000, cost: 0 },
  ]);
  return result.levels[0]!.remaining;
}

describe("edge response cache: levels and headers", () => {
  it("answers a repeated embeddings request from the edge, with X-Cache and Age", async () => {
    const { key, calls } = await fresh();

    const first = await call("/v1/embeddings", embed("a", { "x-test-calls": calls }), key);
    vi.setSystemTime(Date.now() + 7_000);
    const second = await call("/v1/embeddings", embed("a", { "x-test-calls": calls }), key);

    expect(first).toMatchObject({ status: 200, xCache: "MISS", age: "0" });
    expect(second).toMatchObject({ status: 200, xCache: "HIT-EDGE", age: "7", served: first.served, type: "application/json" });
    expect(second.text).toBe(first.text);
    expect(await fakeOrigin.calls(calls)).toBe(1);
  });

  it("serves an entry found only in Upstash as HIT-REDIS, and refills the edge from it", async () => {
    const { key, record, calls } = await fresh();
    const first = await call("/v1/embeddings", embed("b", { "x-test-calls": calls }), key);
    expect(await caches.default.delete(l1Url(await embedKey(record, "b")))).toBe(true);
    clearMemoryTier();

    const fromRedis = await call("/v1/embeddings", embed("b", { "x-test-calls": calls }), key);
    // Memory emptied again: this hit comes from the refilled Cache API.
    clearMemoryTier();
    const fromEdge = await call("/v1/embeddings", embed("b", { "x-test-calls": calls }), key);

    expect(fromRedis).toMatchObject({ status: 200, xCache: "HIT-REDIS", age: "0", served: first.served });
    expect(fromRedis.text).toBe(first.text);
    expect(fromEdge).toMatchObject({ xCache: "HIT-EDGE", served: first.served });
    expect(await fakeOrigin.calls(calls)).toBe(1);
  });

  it("answers a hot entry from this isolate's memory, without the Cache API, until its stale window ends", async () => {
    const { key, record, calls } = await fresh();
    const first = await call("/v1/embeddings", embed("hot", { "x-test-calls": calls }), key);
    expect(await caches.default.delete(l1Url(await embedKey(record, "hot")))).toBe(true);
    await redis.del(responseCacheRedisKey(await embedKey(record, "hot")));

    const fromMemory = await call("/v1/embeddings", embed("hot", { "x-test-calls": calls }), key);
    vi.setSystemTime(Date.now() + (Number(env.CACHE_EMBEDDINGS_TTL_S) + Number(env.CACHE_STALE_IF_ERROR_S) + 1) * 1_000);
    const afterItsLife = await call("/v1/embeddings", embed("hot", { "x-test-calls": calls }), key);

    expect(fromMemory).toMatchObject({ status: 200, xCache: "HIT-EDGE", served: first.served });
    expect(fromMemory.text).toBe(first.text);
    expect(afterItsLife).toMatchObject({ status: 200, xCache: "MISS" });
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("replays the origin's x-breakwater-provider header as stored", async () => {
    const { key } = await fresh();
    await call("/v1/embeddings", embed("provider"), key);
    const res = await edgeFetchWith({}, "/v1/embeddings", embed("provider"), key);
    await res.text();

    expect(res.headers.get("x-cache")).toBe("HIT-EDGE");
    expect(res.headers.get("x-breakwater-provider")).toBe("fake");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("caches GET /v1/models and GET /v1/gpu/offers per query", async () => {
    const { key, calls } = await fresh();
    const get = { headers: { "x-test-calls": calls } };

    const models = [await call("/v1/models", get, key), await call("/v1/models", get, key)];
    const h100 = [await call("/v1/gpu/offers?gpu=h100&n=1", get, key), await call("/v1/gpu/offers?n=1&gpu=h100", get, key)];
    const a100 = await call("/v1/gpu/offers?gpu=a100&n=1", get, key);

    expect(models.map((a) => a.xCache)).toEqual(["MISS", "HIT-EDGE"]);
    expect(h100.map((a) => a.xCache)).toEqual(["MISS", "HIT-EDGE"]);
    expect(a100.xCache).toBe("MISS");
    expect(a100.text).toContain("gpu=a100");
    expect(await fakeOrigin.calls(calls)).toBe(3);
  });

  it("keeps offers only a few seconds", async () => {
    const { key, calls } = await fresh();
    const get = { headers: { "x-test-calls": calls } };
    await call("/v1/gpu/offers", get, key);
    vi.setSystemTime(Date.now() + 5_000);

    expect((await call("/v1/gpu/offers", get, key)).xCache).toBe("MISS");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("keeps working on L1 alone when Upstash fails or is not configured", async () => {
    const { key, calls } = await fresh();
    const errorsBefore = await metricSum("breakwater_edge_cache_l2_errors_total");
    const upstashDown: Partial<Env> = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" };

    const first = await call("/v1/embeddings", embed("no-upstash", { "x-test-calls": calls }), key, upstashDown);
    const second = await call("/v1/embeddings", embed("no-upstash", { "x-test-calls": calls }), key, { UPSTASH_REDIS_REST_URL: "" });

    expect(first).toMatchObject({ status: 200, xCache: "MISS" });
    expect(second).toMatchObject({ status: 200, xCache: "HIT-EDGE", served: first.served });
    expect((await metricSum("breakwater_edge_cache_l2_errors_total")) - errorsBefore).toBeGreaterThanOrEqual(2);
    expect(await fakeOrigin.calls(calls)).toBe(1);
  });

  it("adds no X-Cache to endpoints it does not cache", async () => {
    const { key } = await fresh();
    expect((await call("/v1/echo", post({ a: 1 }), key)).xCache).toBeNull();
  });
});

describe("edge response cache: keys", () => {
  it("never shares an entry between tenants", async () => {
    const a = await fresh();
    const b = await fresh();

    const fromA = await call("/v1/embeddings", embed("same"), a.key);
    const fromB = await call("/v1/embeddings", embed("same"), b.key);

    expect(fromA.xCache).toBe("MISS");
    expect(fromB.xCache).toBe("MISS");
    expect(fromB.served).not.toBe(fromA.served);
  });

  it("shares one entry between keys of the same tenant", async () => {
    const tenantId = crypto.randomUUID();
    const a = await fresh({ tenantId });
    const b = await fresh({ tenantId });

    await call("/v1/embeddings", embed("tenant-wide"), a.key);
    expect((await call("/v1/embeddings", embed("tenant-wide"), b.key)).xCache).toBe("HIT-EDGE");
  });

  it("hits for an equivalent body (keys reordered, defaults spelled out) and misses for a different one", async () => {
    const { key } = await fresh();
    await call("/v1/embeddings", post({ model: "mock/embed", input: ["x", "y"] }), key);

    const equivalent = await call(
      "/v1/embeddings",
      post({ input: ["x", "y"], encoding_format: "float", user: null, model: "mock/embed" }),
      key,
    );
    const otherOrder = await call("/v1/embeddings", post({ model: "mock/embed", input: ["y", "x"] }), key);
    const otherFormat = await call("/v1/embeddings", post({ model: "mock/embed", input: ["x", "y"], encoding_format: "base64" }), key);

    expect(equivalent.xCache).toBe("HIT-EDGE");
    expect(otherOrder.xCache).toBe("MISS");
    expect(otherFormat.xCache).toBe("MISS");
  });
});

describe("edge response cache: what is cached", () => {
  it("does not cache chat unless the client opts in", async () => {
    const { key, calls } = await fresh();
    const plain = [
      await call("/v1/chat/completions", post(chatBody(), { "x-test-calls": calls }), key),
      await call("/v1/chat/completions", post(chatBody(), { "x-test-calls": calls }), key),
    ];

    expect(plain.map((a) => a.xCache)).toEqual(["BYPASS", "BYPASS"]);
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it.each([
    ["Cache-Control: max-age=60", { "cache-control": "max-age=60" }],
    ["x-breakwater-cache: on", { "x-breakwater-cache": "on" }],
  ])("caches chat when the client opts in with %s", async (_, optIn) => {
    const { key, calls } = await fresh();
    const headers = { ...optIn, "x-test-calls": calls };

    const first = await call("/v1/chat/completions", post(chatBody(), headers), key);
    const second = await call("/v1/chat/completions", post(chatBody(), headers), key);
    const notOptedIn = await call("/v1/chat/completions", post(chatBody(), { "x-test-calls": calls }), key);

    expect([first.xCache, second.xCache, notOptedIn.xCache]).toEqual(["MISS", "HIT-EDGE", "BYPASS"]);
    expect(second.text).toBe(first.text);
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("keeps an opted-in chat answer only as long as its max-age", async () => {
    const { key, calls } = await fresh();
    const headers = { "cache-control": "max-age=2", "x-test-calls": calls };
    await call("/v1/chat/completions", post(chatBody(), headers), key);
    vi.setSystemTime(Date.now() + 2_000);

    expect((await call("/v1/chat/completions", post(chatBody(), headers), key)).xCache).toBe("MISS");
  });

  it("neither reads nor stores embeddings sent with Cache-Control: no-store", async () => {
    const { key, calls } = await fresh();
    await call("/v1/embeddings", embed("c"), key);

    const optedOut = await call("/v1/embeddings", embed("new", { "cache-control": "no-store", "x-test-calls": calls }), key);
    const afterwards = await call("/v1/embeddings", embed("new", { "x-test-calls": calls }), key);
    const cachedOne = await call("/v1/embeddings", embed("c", { "cache-control": "no-store" }), key);

    expect(optedOut.xCache).toBe("BYPASS");
    expect(afterwards.xCache).toBe("MISS");
    expect(cachedOne.xCache).toBe("BYPASS");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("neither reads nor stores with x-breakwater-cache: off", async () => {
    const { key, calls } = await fresh();
    await call("/v1/models", { headers: { "x-test-calls": calls } }, key);

    const off = await call("/v1/models", { headers: { "x-breakwater-cache": "off", "x-test-calls": calls } }, key);

    expect(off.xCache).toBe("BYPASS");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("goes to the origin for Cache-Control: no-cache and stores the new answer", async () => {
    const { key } = await fresh();
    const first = await call("/v1/embeddings", embed("d"), key);

    const revalidated = await call("/v1/embeddings", embed("d", { "cache-control": "no-cache" }), key);
    const next = await call("/v1/embeddings", embed("d"), key);

    expect(revalidated.xCache).toBe("MISS");
    expect(revalidated.served).not.toBe(first.served);
    expect(next).toMatchObject({ xCache: "HIT-EDGE", served: revalidated.served });
  });

  it("never stores an error", async () => {
    const { key, calls } = await fresh();
    const failed = await call("/v1/embeddings", embed("e", { "x-test-status": "500", "x-test-calls": calls }), key);
    const again = await call("/v1/embeddings", embed("e", { "x-test-calls": calls }), key);
    const bad = await call("/v1/embeddings", embed("e2", { "x-test-status": "400", "x-test-calls": calls }), key);
    const badAgain = await call("/v1/embeddings", embed("e2", { "x-test-calls": calls }), key);

    expect(failed).toMatchObject({ status: 500, xCache: "MISS" });
    expect(again).toMatchObject({ status: 200, xCache: "MISS" });
    expect(bad.status).toBe(400);
    expect(badAgain).toMatchObject({ status: 200, xCache: "MISS" });
    expect(await fakeOrigin.calls(calls)).toBe(4);
  });

  it("stores a streamed answer whole and replays it as SSE", async () => {
    const { key, calls } = await fresh();
    const headers = { "x-breakwater-cache": "on", "x-test-calls": calls, "x-test-usage": "30" };

    const first = await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);
    const replayed = await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);
    const json = await call("/v1/chat/completions", post(chatBody(), headers), key);

    expect(first).toMatchObject({ status: 200, xCache: "MISS" });
    expect(replayed).toMatchObject({ status: 200, xCache: "HIT-EDGE", type: "text/event-stream" });
    expect(replayed.text).toBe(first.text);
    expect(replayed.text).toContain("twelve chars");
    expect(replayed.text.endsWith("data: [DONE]\n\n")).toBe(true);
    // The edge asked for the usage chunk; this client did not, so it is left out of the replay too.
    expect(replayed.text).not.toContain('"usage"');
    // A JSON request is not answered from the stream's entry.
    expect(json.xCache).toBe("MISS");
    expect(json.type).toBe("application/json");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("replays the usage chunk of a stored stream to a client that asks for it", async () => {
    const { key } = await fresh();
    const headers = { "x-breakwater-cache": "on", "x-test-usage": "30" };
    await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);

    const asked = await call(
      "/v1/chat/completions",
      post(chatBody({ stream: true, stream_options: { include_usage: true } }), headers),
      key,
    );

    expect(asked.xCache).toBe("HIT-EDGE");
    expect(asked.text).toContain('"total_tokens":30');
  });

  it("does not store a stream that broke off", async () => {
    const { key, calls } = await fresh();
    const headers = { "x-breakwater-cache": "on", "x-test-calls": calls };

    const hold = crypto.randomUUID();
    const broken = await edgeFetchWith(
      {},
      "/v1/chat/completions",
      post(chatBody({ stream: true }), { ...headers, "x-test-break": "1", "x-test-hold": hold }),
      key,
    );
    const reader = broken.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    await fakeOrigin.release(hold);
    // The edge ends the cut stream with an error event and no [DONE]: not a finished answer.
    text += await readToEnd(reader);
    expect(text).toContain('"code":"upstream_error"');
    expect(text).not.toContain("[DONE]");
    await broken.settled();
    const next = await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);

    expect(broken.headers.get("x-cache")).toBe("MISS");
    expect(next.xCache).toBe("MISS");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("stops the origin when the client hangs up on a stream it asked to cache, and stores nothing", async () => {
    const { key, calls } = await fresh();
    const headers = { "x-breakwater-cache": "on", "x-test-calls": calls };

    const hold = crypto.randomUUID();
    const left = await edgeFetchWith(
      {},
      "/v1/chat/completions",
      post(chatBody({ stream: true }), { ...headers, "x-test-hold": hold }),
      key,
    );
    const reader = left.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    await reader.cancel();
    // Without the client, the cache alone must not keep the origin generating.
    await fakeOrigin.closed(hold);
    await left.settled();
    const next = await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);

    expect(next.xCache).toBe("MISS");
    expect(await fakeOrigin.calls(calls)).toBe(2);
  });

  it("charges a cache hit no tokens", async () => {
    const { key, record } = await fresh({ limits: { tpm: 10_000 } });
    const headers = { "x-breakwater-cache": "on", "x-test-usage": "40" };
    await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);
    const afterMiss = await tokensLeft(record);

    const hit = await call("/v1/chat/completions", post(chatBody({ stream: true }), headers), key);

    expect(hit.xCache).toBe("HIT-EDGE");
    expect(afterMiss).toBe(10_000 - 40);
    expect(await tokensLeft(record)).toBe(afterMiss);
  });
});

describe("edge response cache: single flight", () => {
  it("makes one origin call for identical concurrent misses", async () => {
    const { key, record, calls } = await fresh();
    const hold = crypto.randomUUID();
    const coalescedBefore = await metricSum('breakwater_edge_cache_requests_total{result="coalesced"}');
    const init = () => embed("together", { "x-test-calls": calls, "x-test-hold": hold });
    const flightKey = await embedKey(record, "together");

    const pending = Array.from({ length: 5 }, () => call("/v1/embeddings", init(), key));
    await fakeOrigin.arrived(hold);
    await waitUntil("the followers to wait for the leader", async () => followersOf(flightKey) === 4);
    await fakeOrigin.release(hold);
    const answers = await Promise.all(pending);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.served)).size).toBe(1);
    expect(answers.map((a) => a.xCache)).toEqual(["MISS", "MISS", "MISS", "MISS", "MISS"]);
    expect((await metricSum('breakwater_edge_cache_requests_total{result="coalesced"}')) - coalescedBefore).toBe(4);
    expect(await fakeOrigin.calls(calls)).toBe(1);
  });

  it("sends the followers to the origin themselves when the leader fails", async () => {
    const { key, record, calls } = await fresh();
    const hold = crypto.randomUUID();
    const init = () => embed("together-failing", { "x-test-calls": calls, "x-test-hold": hold, "x-test-status": "500" });
    const flightKey = await embedKey(record, "together-failing");

    const pending = Array.from({ length: 3 }, () => call("/v1/embeddings", init(), key));
    await fakeOrigin.arrived(hold);
    await waitUntil("the followers to wait for the leader", async () => followersOf(flightKey) === 2);
    await fakeOrigin.release(hold);
    const answers = await Promise.all(pending);

    expect(answers.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(await fakeOrigin.calls(calls)).toBe(3);
  });
});

describe("edge response cache: stale-if-error", () => {
  const shortLife: Partial<Env> = { CACHE_EMBEDDINGS_TTL_S: "10", CACHE_STALE_IF_ERROR_S: "60" };

  it.each([
    ["answers 503", { "x-test-status": "503" }],
    ["answers 503 saying it is degraded", { "x-test-status": "503", "x-test-degraded": "stale" }],
    ["cannot be reached", { "x-test-reset": "1" }],
  ])("serves an expired entry within its stale window when the origin %s", async (_, failure) => {
    const { key } = await fresh();
    const stored = await call("/v1/embeddings", embed("f"), key, shortLife);
    vi.setSystemTime(Date.now() + 30_000);

    const stale = await call("/v1/embeddings", embed("f", failure), key, shortLife);

    expect(stored.degraded).toBeNull();
    expect(stale).toMatchObject({ status: 200, xCache: "STALE", age: "30", degraded: "stale", served: stored.served });
    expect(stale.text).toBe(stored.text);
  });

  it("passes the error on once the stale window is over", async () => {
    const { key } = await fresh();
    await call("/v1/embeddings", embed("g"), key, shortLife);
    vi.setSystemTime(Date.now() + 70_000);

    expect(await call("/v1/embeddings", embed("g", { "x-test-status": "503" }), key, shortLife)).toMatchObject({
      status: 503,
      xCache: "MISS",
    });
  });

  it("passes the error on when the client's stale-if-error is shorter than the entry's age", async () => {
    const { key } = await fresh();
    await call("/v1/embeddings", embed("h"), key, shortLife);
    vi.setSystemTime(Date.now() + 30_000);

    const answer = await call(
      "/v1/embeddings",
      embed("h", { "x-test-status": "503", "cache-control": "stale-if-error=5" }),
      key,
      shortLife,
    );

    expect(answer).toMatchObject({ status: 503, xCache: "MISS" });
  });

  it("refreshes an expired entry from a healthy origin", async () => {
    const { key } = await fresh();
    const stored = await call("/v1/embeddings", embed("i"), key, shortLife);
    vi.setSystemTime(Date.now() + 30_000);

    const refreshed = await call("/v1/embeddings", embed("i"), key, shortLife);
    const hit = await call("/v1/embeddings", embed("i"), key, shortLife);

    expect(refreshed.xCache).toBe("MISS");
    expect(refreshed.served).not.toBe(stored.served);
    expect(hit).toMatchObject({ xCache: "HIT-EDGE", age: "0", served: refreshed.served });
  });
});
