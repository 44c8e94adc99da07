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

describe("budget windows in the RateLimiter Durable Object", () => {
  // A day ahead of the real clock: the runtime runs alarms by the real clock, and one set in the past would fire by itself.
  const day = Date.UTC(new Date().getUTCFullYear() + 1, 4, 1);
  const window = (fields: Partial<{ limit: number; softLimit: number | null; cost: number; start: number }> = {}) => {
    const start = fields.start ?? day;
    return { budget: "daily", start, resetAt: start + 86_400_000, limit: 100, softLimit: null, cost: 0, ...fields };
  };

  beforeEach(() => vi.setSystemTime(day + 3_600_000));

  it("lets a request in while the window holds less than its limit, together with the buckets or not at all", async () => {
    const stub = limiter();
    expect((await stub.take([], [], [window({ cost: 60 })])).allowed).toBe(true);
    // 60 < 100: in, although it takes the window past its limit.
    expect((await stub.take([], [], [window({ cost: 60 })])).budgets[0]).toMatchObject({ allowed: true, used: 120 });

    const refused = await stub.take([{ ...requests, cost: 1 }], [], [window({ cost: 1 })]);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 23 * 3_600_000, budgets: [{ allowed: false, used: 120 }] });
    // The bucket took nothing for the refused request.
    expect((await stub.peek([{ ...requests, cost: 0 }])).levels[0]?.remaining).toBe(10);
  });

  it("tells the first take at or past the soft limit, once per window", async () => {
    const stub = limiter();
    const crossed = async (start = day) => (await stub.take([], [], [window({ cost: 40, softLimit: 80, start })])).budgets[0]!.crossed;

    expect(await crossed()).toBe(false);
    expect(await crossed()).toBe(true);
    expect(await crossed()).toBe(false);
    expect((await stub.peek([], [window()])).budgets[0]).toMatchObject({ used: 120, warn: false });
    // Another window is news again.
    expect(await crossed(day + 86_400_000)).toBe(false);
    expect(await crossed(day + 86_400_000)).toBe(true);
  });

  it("corrects the window a correction names, also after it ended, and never below nothing", async () => {
    const stub = limiter();
    await stub.take([], [], [window({ cost: 50 })]);
    vi.setSystemTime(day + 86_400_000 + 60_000);

    await stub.adjust([{ budget: "daily", start: day, resetAt: day + 86_400_000, delta: 25 }]);
    expect((await stub.peek([], [window()])).budgets[0]?.used).toBe(75);
    await stub.take([], [{ budget: "daily", start: day, resetAt: day + 86_400_000, delta: -500 }], []);
    expect((await stub.peek([], [window()])).budgets[0]?.used).toBe(0);
  });

  it("keeps its windows across a restart and forgets each an hour after it ended", async () => {
    const stub = limiter();
    await stub.take([], [], [window({ cost: 30 })]);

    await evictDurableObject(stub);
    expect((await stub.peek([], [window()])).budgets[0]?.used).toBe(30);

    vi.setSystemTime(day + 86_400_000 + 3_600_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("select budget from budget_windows").toArray());
    expect(rows).toEqual([]);
  });
});
