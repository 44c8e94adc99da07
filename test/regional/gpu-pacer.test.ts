import { describe, expect, it } from "vitest";
import { createMockMarketplaces, type MockMarketplaces } from "../../regional/gpu/marketplaces/mock/index.ts";
import { isNotSent } from "../../regional/gpu/not-sent.ts";
import { createPacer, intervalS } from "../../regional/gpu/pacer.ts";

/** A pacer on a clock that only its own waits move. */
function paced(limits: Parameters<typeof createPacer>[0]["limits"], maxWaitMs = 5_000) {
  const clock = { now: 0, sleeps: [] as number[] };
  const pacer = createPacer({
    name: "market",
    limits,
    maxWaitMs,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
  });
  return { pacer, clock };
}

const signal = new AbortController().signal;

describe("marketplace pacer", () => {
  it("spaces calls to one endpoint evenly at its published rate", async () => {
    const { pacer, clock } = paced({ show: { limit: 1, periodMs: 500 } });
    for (let n = 0; n < 4; n++) await pacer.take("show", signal);
    expect(clock.sleeps).toEqual([500, 500, 500]);
    expect(pacer.counts()).toEqual({ waited: 3, refused: 0 });
  });

  it("lets a per-minute limit burst, then waits for the next slot", async () => {
    const { pacer, clock } = paced({ search: { limit: 10, periodMs: 60_000 } }, 10_000);
    for (let n = 0; n < 10; n++) await pacer.take("search", signal);
    expect(clock.sleeps).toEqual([]);
    await pacer.take("search", signal);
    expect(clock.sleeps).toEqual([6_000]);
  });

  it("queues concurrent callers in order without ever letting two through at once", async () => {
    // The clock stands still: each caller's wait is only its place in the queue.
    const waits: number[] = [];
    const clockless = createPacer({
      name: "market",
      limits: { create: { limit: 1, periodMs: 223 } },
      maxWaitMs: 5_000,
      now: () => 0,
      sleep: async (ms) => void waits.push(ms),
    });
    await Promise.all([0, 1, 2, 3].map(() => clockless.take("create", signal)));
    expect(waits).toEqual([223, 446, 669]);
  });

  it("refuses at once, as rate_limited and never sent, when the wait would pass the call's allowance", async () => {
    const { pacer, clock } = paced({ search: { limit: 10, periodMs: 60_000 } }, 5_000);
    for (let n = 0; n < 10; n++) await pacer.take("search", signal);
    const refused = await pacer.take("search", signal).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: "rate_limited", retryAfterS: 6 });
    expect(isNotSent(refused)).toBe(true);
    expect(clock.sleeps).toEqual([]);
    expect(pacer.counts().refused).toBe(1);
  });

  it("holds an endpoint back after the marketplace said 429, and only that endpoint", async () => {
    const { pacer, clock } = paced({ create: { limit: 1, periodMs: 223 }, show: { limit: 1, periodMs: 500 } }, 20_000);
    pacer.penalize("create", 12_000);
    await pacer.take("show", signal);
    expect(clock.sleeps).toEqual([]);
    await pacer.take("create", signal);
    expect(clock.sleeps).toEqual([12_000]);
  });

  it("passes endpoints it has no limit for", async () => {
    const { pacer, clock } = paced({});
    for (let n = 0; n < 100; n++) await pacer.take("anything", signal);
    expect(clock.sleeps).toEqual([]);
  });

  it("takes one interval, at least a second, as the wait after a 429 that names none", () => {
    expect(intervalS({ search: { limit: 10, periodMs: 60_000 } }, "search")).toBe(6);
    expect(intervalS({ show: { limit: 1, periodMs: 500 } }, "show")).toBe(1);
    expect(intervalS({}, "other")).toBe(1);
  });
});

describe("paced adapters against marketplaces that enforce their published limits", () => {
  const offer = {
    id: "vastai:1001",
    provider: "vastai" as const,
    gpu_model: "RTX 4090",
    gpu_count: 1,
    vram_gb: 24,
    price_per_hour: 0.35,
    location: null,
    reliability: null,
  };
  const context = { signal, requestId: "pacing" };

  /** Creates three Vast.ai instances, polls each five times, lists and destroys them: a poller's busy minute. */
  async function busyMinute(mocks: MockMarketplaces): Promise<void> {
    const vast = mocks.vastai.marketplace;
    const ids: string[] = [];
    for (let n = 0; n < 3; n++)
      ids.push(
        (await vast.create({ offer, label: `bw-local-${n}`, image: "x", diskGb: 20, durationHours: 1, httpPort: 8000, env: {} }, context))
          .providerInstanceId,
      );
    for (let round = 0; round < 5; round++) for (const id of ids) await vast.get(id, context);
    await vast.listLabelled("bw-local-", context);
    for (const id of ids) await vast.destroy(id, context);
  }

  it("never draws a 429 from Vast.ai when paced", async () => {
    const clock = { now: 0 };
    const mocks = createMockMarketplaces({
      bootMs: 0,
      now: () => clock.now,
      enforceLimits: true,
      pacing: { maxWaitMs: 5_000, now: () => clock.now, sleep: async (ms) => void (clock.now += ms) },
    });
    await busyMinute(mocks);
    expect(mocks.vastai.tooFrequent()).toBe(0);
    expect(clock.now).toBeGreaterThan(0);
  });

  it("draws 429s from the same work unpaced (the control)", async () => {
    const mocks = createMockMarketplaces({ bootMs: 0, now: () => 0, enforceLimits: true });
    await expect(busyMinute(mocks)).rejects.toMatchObject({ code: "rate_limited", upstreamStatus: 429 });
    expect(mocks.vastai.tooFrequent()).toBeGreaterThan(0);
  });
});
