import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const requests = { bucket: "requests", limit: 10, periodMs: 60_000 };
const tokens = { bucket: "tokens", limit: 1_000, periodMs: 60_000 };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
});

const limiter = () => env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);

describe("the RateLimiter Durable Object", () => {
  it("takes from all its buckets or from none", async () => {
    const stub = limiter();
    expect(
      (
        await stub.take([
          { ...requests, cost: 1 },
          { ...tokens, cost: 900 },
        ])
      ).allowed,
    ).toBe(true);

    const refused = await stub.take([
      { ...requests, cost: 1 },
      { ...tokens, cost: 200 },
    ]);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 6_000 });
    const now = await stub.peek([
      { ...requests, cost: 0 },
      { ...tokens, cost: 0 },
    ]);
    expect(now.levels.map((level) => level.remaining)).toEqual([9, 100]);
  });

  it("applies corrections sent with a take before deciding", async () => {
    const stub = limiter();
    await stub.take([{ ...tokens, cost: 900 }]);

    const result = await stub.take([{ ...tokens, cost: 500 }], [{ ...tokens, delta: -850 }]);
    expect(result.allowed).toBe(true);
    expect(result.levels[0]?.remaining).toBe(450);
  });

  it("keeps its state in SQLite across a restart", async () => {
    const stub = limiter();
    await stub.take([{ ...requests, cost: 4 }]);

    await evictDurableObject(stub);

    const rows = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("select name from buckets").toArray());
    expect(rows).toEqual([{ name: "requests" }]);
    expect((await stub.peek([{ ...requests, cost: 0 }])).levels[0]?.remaining).toBe(6);
  });

  it("forgets buckets once they hold no debt", async () => {
    const stub = limiter();
    await stub.take([
      { ...requests, cost: 1 },
      { ...tokens, cost: 1_000 },
    ]);

    vi.setSystemTime(Date.now() + 60_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const rows = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("select name from buckets").toArray());
    expect(rows).toEqual([]);
    expect((await stub.peek([{ ...tokens, cost: 0 }])).levels[0]?.remaining).toBe(1_000);
  });
});
