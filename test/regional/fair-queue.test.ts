import { describe, expect, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import { createFairQueue, type QueueClock, type QueuePolicy, type Slot, type Ticket } from "../../regional/admission/fair-queue.ts";

/** Time moves only when the test says; timers fire in order as it passes them. */
function manualClock(): QueueClock & { advance(ms: number): void } {
  let now = 0;
  const timers: Array<{ at: number; run: () => void; live: boolean }> = [];
  return {
    now: () => now,
    after(ms, run) {
      const timer = { at: now + ms, run, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((timer) => timer.live && timer.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        due.live = false;
        due.run();
      }
      now = until;
    },
  };
}

const policy: QueuePolicy = { concurrency: 1, maxQueued: 10, maxWaitMs: 1_000, targetMs: 10, intervalMs: 100 };

/** Admits and records the order in which waiting tickets got their slot (or how they were refused). */
function harness(overrides: Partial<QueuePolicy> = {}) {
  const clock = manualClock();
  const queue = createFairQueue("chat", { ...policy, ...overrides }, clock);
  const served: string[] = [];
  const slots: Slot[] = [];
  const refused: Array<{ label: string; error: unknown }> = [];
  const admit = (label: string, ticket: Ticket) => {
    let admitted: Slot | Promise<Slot>;
    try {
      admitted = queue.admit(ticket);
    } catch (error) {
      refused.push({ label, error });
      return;
    }
    if (!(admitted instanceof Promise)) {
      served.push(label);
      slots.push(admitted);
      return;
    }
    admitted.then(
      (slot) => {
        served.push(label);
        slots.push(slot);
      },
      (error: unknown) => refused.push({ label, error }),
    );
  };
  /** Frees the oldest slot held and lets the promises settle. */
  const releaseOne = async () => {
    slots.shift()?.release();
    await flush();
  };
  return { clock, queue, served, slots, refused, admit, releaseOne };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const codeOf = (error: unknown) => (error instanceof GatewayError ? error.code : String(error));

describe("fair queue", () => {
  it("admits at once, without a promise, while slots are free", () => {
    const queue = createFairQueue("chat", { ...policy, concurrency: 2 }, manualClock());
    const first = queue.admit({ tenant: "a", priority: "normal" });
    const second = queue.admit({ tenant: "a", priority: "normal" });
    expect(first).not.toBeInstanceOf(Promise);
    expect(second).not.toBeInstanceOf(Promise);
    expect(queue.snapshot()).toMatchObject({ inFlight: 2, queued: 0 });
    (first as Slot).release();
    (first as Slot).release(); // idempotent
    expect(queue.snapshot()).toMatchObject({ inFlight: 1, queued: 0, tenants: [{ tenant: "a", inFlight: 1, queued: 0 }] });
  });

  it("serves high before normal before low when a slot frees, whatever the arrival order", async () => {
    const h = harness();
    h.admit("holder", { tenant: "x", priority: "normal" });
    h.admit("low", { tenant: "a", priority: "low" });
    h.admit("normal", { tenant: "b", priority: "normal" });
    h.admit("high", { tenant: "c", priority: "high" });
    await flush();
    for (let i = 0; i < 3; i += 1) await h.releaseOne();
    expect(h.served).toEqual(["holder", "high", "normal", "low"]);
  });

  it("takes tenants in turn within a priority, so a flood waits behind itself", async () => {
    const h = harness({ maxQueued: 100 });
    h.admit("holder", { tenant: "flood", priority: "normal" });
    for (let i = 0; i < 8; i += 1) h.admit(`flood-${i}`, { tenant: "flood", priority: "normal" });
    h.admit("quiet-0", { tenant: "quiet", priority: "normal" });
    h.admit("quiet-1", { tenant: "quiet", priority: "normal" });
    await flush();
    for (let i = 0; i < 4; i += 1) await h.releaseOne();
    expect(h.served).toEqual(["holder", "flood-0", "quiet-0", "flood-1", "quiet-1"]);
  });

  it("answers a request that waited its bound with 503 overloaded and Retry-After", async () => {
    const h = harness();
    h.admit("holder", { tenant: "a", priority: "normal" });
    h.admit("waiting", { tenant: "a", priority: "normal" });
    h.clock.advance(999);
    await flush();
    expect(h.refused).toEqual([]);
    h.clock.advance(1);
    await flush();
    expect(h.refused.map(({ label, error }) => [label, codeOf(error)])).toEqual([["waiting", "overloaded"]]);
    expect((h.refused[0]?.error as GatewayError).retryAfterS).toBeGreaterThanOrEqual(1);
    expect(h.queue.snapshot()).toMatchObject({ queued: 0, totals: { timedOut: 1 } });
  });

  it("when full, pushes out the newest request of a tenant over its share to make room for one under it", async () => {
    const h = harness({ maxQueued: 3 });
    h.admit("holder", { tenant: "flood", priority: "normal" });
    for (let i = 0; i < 3; i += 1) h.admit(`flood-${i}`, { tenant: "flood", priority: "normal" });
    h.admit("quiet", { tenant: "quiet", priority: "normal" });
    // The flooding tenant's own next request is refused: it holds more than its share.
    h.admit("flood-3", { tenant: "flood", priority: "normal" });
    await flush();
    expect(h.refused.map(({ label, error }) => [label, codeOf(error)]).sort()).toEqual([
      ["flood-2", "tenant_over_share"],
      ["flood-3", "tenant_over_share"],
    ]);
    await h.releaseOne();
    await h.releaseOne();
    expect(h.served).toEqual(["holder", "flood-0", "quiet"]);
  });

  it("when full with one tenant alone, refuses the newcomer with 503 overloaded", () => {
    const h = harness({ maxQueued: 2 });
    h.admit("holder", { tenant: "a", priority: "normal" });
    h.admit("w1", { tenant: "a", priority: "normal" });
    h.admit("w2", { tenant: "a", priority: "normal" });
    expect(() => h.queue.admit({ tenant: "a", priority: "normal" })).toThrow(expect.objectContaining({ code: "overloaded" }));
  });

  it("sheds once the delay stayed above target for an interval, and only those at or over their share", async () => {
    const h = harness({ maxQueued: 100 });
    h.admit("holder", { tenant: "a", priority: "normal" });
    for (let i = 0; i < 6; i += 1) h.admit(`a-${i}`, { tenant: "a", priority: "normal" });
    await flush();
    // Each waits 60 ms past the last: above the 10 ms target from the first dequeue on.
    for (let i = 0; i < 4; i += 1) {
      h.clock.advance(60);
      await h.releaseOne();
    }
    expect(h.queue.shedding()).toBe(true);
    expect(() => h.queue.admit({ tenant: "a", priority: "normal" })).toThrow(expect.objectContaining({ code: "overloaded" }));
    // A tenant holding nothing is under its share: it still waits, and is served in its turn.
    h.admit("b", { tenant: "b", priority: "normal" });
    await flush();
    expect(h.refused).toEqual([]);
    await h.releaseOne();
    await h.releaseOne();
    expect(h.served.slice(-2).sort()).toEqual(["a-4", "b"]);
  });

  it("does not shed a long queue that drains within target", async () => {
    const h = harness({ maxQueued: 100, concurrency: 50 });
    for (let round = 0; round < 5; round += 1) {
      for (let i = 0; i < 50; i += 1) h.admit(`r${round}-${i}`, { tenant: "a", priority: "normal" });
      await flush();
      // 50 deep, each served 5 ms after it came: long, but no standing delay.
      h.clock.advance(5);
      for (let i = 0; i < 50; i += 1) h.slots.shift()?.release();
      await flush();
      expect(h.queue.shedding()).toBe(false);
    }
    expect(h.refused).toEqual([]);
  });

  it("gives a place up when the client leaves while waiting", async () => {
    const h = harness({ maxQueued: 1 });
    h.admit("holder", { tenant: "a", priority: "normal" });
    const leaving = new AbortController();
    h.admit("leaver", { tenant: "a", priority: "normal", signal: leaving.signal });
    expect(() => h.queue.admit({ tenant: "a", priority: "normal" })).toThrow(expect.objectContaining({ code: "overloaded" }));
    leaving.abort(new Error("client left"));
    await flush();
    expect(h.refused.map(({ label }) => label)).toEqual(["leaver"]);
    expect(h.queue.snapshot()).toMatchObject({ queued: 0, totals: { abandoned: 1 } });
    h.admit("next", { tenant: "a", priority: "normal" });
    await h.releaseOne();
    expect(h.served).toEqual(["holder", "next"]);
  });

  it("reports depth, waits and totals by priority and tenant", async () => {
    const h = harness();
    h.admit("holder", { tenant: "a", priority: "normal" });
    h.admit("w", { tenant: "b", priority: "high" });
    h.clock.advance(40);
    await h.releaseOne();
    const snapshot = h.queue.snapshot();
    expect(snapshot).toMatchObject({
      name: "chat",
      inFlight: 1,
      queued: 0,
      shedding: false,
      totals: { admitted: 2, waited: 1 },
      priorities: { high: { queued: 0, waitEwmaMs: 40 }, normal: { queued: 0 }, low: { queued: 0 } },
      tenants: [{ tenant: "b", inFlight: 1, queued: 0, waitEwmaMs: 40 }],
    });
    expect(snapshot.wait.p99Ms).toBe(40);
  });
});
