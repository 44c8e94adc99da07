import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it, vi } from "vitest";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import { createKey, edgeFetch, edgeFetchWith, errorBody, fakeOrigin, randomIp } from "./harness.ts";

const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });
/** Key records only in Upstash and regional: this isolate's and location's caches off. */
const noEdgeCache = { KEY_CACHE_TTL_S: "0" };

async function expectRefused(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = await errorBody(res);
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
}

describe("API keys at the edge", () => {
  it("answers 401 invalid_api_key when no key is sent", async () => {
    const res = await edgeFetch("/v1/echo", {}, null);

    await expectRefused(res, 401, "invalid_api_key");
  });

  it.each([
    ["not a Breakwater key", "sk-1234567890abcdef1234"],
    ["too short", "bw_short"],
    ["bad characters", "bw_abcdefghijklmnop<script>"],
    ["a broken Authorization header", null],
  ])("answers 401 for a malformed key (%s) without looking it up", async (_, key) => {
    const headers: Record<string, string> = key === null ? { authorization: "Basic Zm9vOmJhcg==" } : { authorization: `Bearer ${key}` };
    const res = await edgeFetch("/v1/echo", { headers: { ...headers, "cf-connecting-ip": randomIp() } }, null);

    await expectRefused(res, 401, "invalid_api_key");
    expect(res.headers.get("ratelimit-policy")).toBe('"auth-failures";q=20;w=60');
    expect(res.headers.get("ratelimit")).toBe('"auth-failures";r=19;t=3');
  });

  it("answers 401 for a key the regional tier does not know, and remembers that for a few seconds", async () => {
    const { key, sha256 } = await createKey();
    await fakeOrigin.setKey(sha256, null);

    await expectRefused(await edgeFetch("/v1/echo", {}, key), 401, "invalid_api_key");
    await expectRefused(await edgeFetch("/v1/echo", {}, key), 401, "invalid_api_key");
    expect(await fakeOrigin.lookups(sha256)).toBe(1);
    expect(await redis.ttl(keyRecordCacheKey(sha256))).toBeGreaterThan(0);
    expect(await redis.ttl(keyRecordCacheKey(sha256))).toBeLessThanOrEqual(5);
  });

  it.each(["revoked", "tenant_disabled"] as const)("answers 401 for a %s key", async (status) => {
    const { key } = await createKey({ status });

    await expectRefused(await edgeFetch("/v1/echo", {}, key), 401, "invalid_api_key");
  });

  it("accepts a key from x-api-key as well as Authorization: Bearer", async () => {
    const { key } = await createKey();

    expect((await edgeFetch("/v1/echo", { headers: { "x-api-key": key } }, null)).status).toBe(200);
    expect((await edgeFetch("/v1/echo", { headers: { authorization: `bearer ${key}` } }, null)).status).toBe(200);
  });

  it("looks a key up once, then serves it from this location's cache", async () => {
    const { key, sha256 } = await createKey();

    for (let i = 0; i < 3; i++) expect((await edgeFetchWith({}, "/v1/echo", {}, key)).status).toBe(200);
    expect(await fakeOrigin.lookups(sha256)).toBe(1);
  });

  it("shares looked-up records through Upstash", async () => {
    const { key, sha256 } = await createKey();

    const first = await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key);
    expect(first.status).toBe(200);
    await first.text();
    await first.settled();
    expect((await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key)).status).toBe(200);
    expect(await fakeOrigin.lookups(sha256)).toBe(1);
  });

  it("serves no cached copy of a record more than 60 s after the regional tier answered it", async () => {
    const { key, sha256, record } = await createKey();
    const res = await edgeFetchWith({}, "/v1/echo", {}, key);
    await res.text();
    await res.settled();

    const ttl = await redis.ttl(keyRecordCacheKey(sha256));
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    const shared = await redis.get<{ until: number }>(keyRecordCacheKey(sha256));
    expect(shared!.until).toBeLessThanOrEqual(Date.now() + 60_000);

    // A copy past its 60 s (here: in Upstash, with the location tiers off) is not served.
    await fakeOrigin.setKey(sha256, { ...record, status: "revoked" });
    await redis.set(keyRecordCacheKey(sha256), { v: 1, record, until: Date.now() - 1 }, { ex: 60 });
    await expectRefused(await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key), 401, "invalid_api_key");
    expect(await fakeOrigin.lookups(sha256)).toBe(2);
  });

  it("stops accepting a revoked key at once when the revocation deletes its Upstash entry", async () => {
    const { key, sha256, record } = await createKey();
    const warm = await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key);
    expect(warm.status).toBe(200);
    await warm.text();
    await warm.settled();

    await fakeOrigin.setKey(sha256, { ...record, status: "revoked" });
    // Until its Upstash entry goes, the edge may serve the record it has (at most 60 s old).
    expect((await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key)).status).toBe(200);
    await redis.del(keyRecordCacheKey(sha256));

    await expectRefused(await edgeFetchWith(noEdgeCache, "/v1/echo", {}, key), 401, "invalid_api_key");
  });

  it("with the location caches on, stops accepting a revoked key within a second of its Upstash entry's deletion", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now());
      const { key, sha256, record } = await createKey();
      const warm = await edgeFetchWith({}, "/v1/echo", {}, key);
      expect(warm.status).toBe(200);
      await warm.text();
      await warm.settled();

      await fakeOrigin.setKey(sha256, { ...record, status: "revoked" });
      await redis.del(keyRecordCacheKey(sha256));
      // Only this isolate's one-second memory tier may still answer; no Cache API copy outlives it.
      vi.setSystemTime(Date.now() + 1_001);
      await expectRefused(await edgeFetchWith({}, "/v1/echo", {}, key), 401, "invalid_api_key");
    } finally {
      vi.useRealTimers();
    }
  });

  it("gives an address 20 failed attempts a minute, then 429 with Retry-After, even for a valid key it has not used", async () => {
    const ip = randomIp();
    for (let i = 0; i < 20; i++) {
      await expectRefused(
        await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": ip } }, `bw_guess${String(i).padStart(12, "0")}xyz`),
        401,
        "invalid_api_key",
      );
    }

    const limited = await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": ip } }, "bw_guess999999999999xyz");
    await expectRefused(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit")).toMatch(/^"auth-failures";r=0;t=\d+$/);

    // A key this location has not seen would cost a lookup: not for this address.
    const { key, sha256 } = await createKey();
    await expectRefused(await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": ip } }, key), 429, "rate_limited");
    expect(await fakeOrigin.lookups(sha256)).toBe(0);
    // Other addresses are not affected.
    expect((await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": randomIp() } }, key)).status).toBe(200);
  });

  it("answers 503 when the regional tier refuses the edge's signature on a key lookup", async () => {
    const { key, sha256 } = await createKey();

    const res = await edgeFetchWith({ EDGE_SIGNING_SECRET: "another-secret-of-at-least-32-characters" }, "/v1/echo", {}, key);

    await expectRefused(res, 503, "unavailable");
    expect(await fakeOrigin.lookups(sha256)).toBe(0);
  });

  it("answers 500 in the error shape when it has no signing secret", async () => {
    const res = await edgeFetchWith({ EDGE_SIGNING_SECRET: undefined }, "/v1/echo");

    await expectRefused(res, 500, "internal_error");
  });
});
