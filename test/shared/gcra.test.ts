import { describe, expect, it } from "vitest";
import { gcraAdjust, gcraConsume, gcraIsFull, type GcraPolicy, type GcraState } from "../../shared/gcra.ts";

const t0 = 1_750_000_000_000;
const perMinute = (limit: number): GcraPolicy => ({ limit, periodMs: 60_000 });

/** Consumes `cost` `times` times at `now`, carrying the state; returns how many were allowed. */
function burst(
  state: GcraState | undefined,
  policy: GcraPolicy,
  times: number,
  now: number,
  cost = 1,
): { allowed: number; state: GcraState | undefined } {
  let allowed = 0;
  for (let i = 0; i < times; i++) {
    const decision = gcraConsume(state, policy, cost, now);
    if (decision.allowed) allowed += 1;
    state = decision.state;
  }
  return { allowed, state };
}

describe("GCRA", () => {
  it("allows the whole quota at once and refuses the next unit until one interval has passed", () => {
    const policy = perMinute(100);
    const { allowed, state } = burst(undefined, policy, 150, t0);
    expect(allowed).toBe(100);

    const refused = gcraConsume(state, policy, 1, t0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetMs: 60_000, retryAfterMs: 600 });
    expect(gcraConsume(state, policy, 1, t0 + 599).allowed).toBe(false);
    expect(gcraConsume(state, policy, 1, t0 + 600).allowed).toBe(true);
  });

  it("stays exact when the interval is not a whole number of milliseconds", () => {
    const policy = perMinute(7); // 8571.43 ms apart
    const { allowed, state } = burst(undefined, policy, 8, t0);
    expect(allowed).toBe(7);

    expect(gcraConsume(state, policy, 1, t0).retryAfterMs).toBe(8_572);
    expect(gcraConsume(state, policy, 1, t0 + 8_571).allowed).toBe(false);
    expect(gcraConsume(state, policy, 1, t0 + 8_572).allowed).toBe(true);
    // A whole period later every unit is back, none more.
    expect(burst(state, policy, 10, t0 + 60_000).allowed).toBe(7);
  });

  it("counts single tokens exactly under a limit of ten million a minute", () => {
    const policy = perMinute(10_000_000);
    let state = gcraConsume(undefined, policy, 9_999_999, t0).state;
    const last = gcraConsume(state, policy, 1, t0);
    expect(last).toMatchObject({ allowed: true, remaining: 0 });
    state = last.state;
    expect(gcraConsume(state, policy, 1, t0).allowed).toBe(false);
    // A token comes back every 6 µs: a millisecond later, 166 of them.
    expect(gcraConsume(state, policy, 0, t0 + 1).remaining).toBe(166);
  });

  it("refuses a cost above the whole quota even when the bucket is full", () => {
    const decision = gcraConsume(undefined, perMinute(10), 11, t0);
    expect(decision.allowed).toBe(false);
    expect(decision.retryAfterMs).toBe(6_000);
    expect(decision.remaining).toBe(10);
  });

  it("spends nothing when it refuses", () => {
    const policy = perMinute(10);
    const state = gcraConsume(undefined, policy, 6, t0).state;
    expect(gcraConsume(state, policy, 5, t0).allowed).toBe(false);
    expect(gcraConsume(state, policy, 4, t0).allowed).toBe(true);
  });

  it("reports what is left and when the quota is whole again, spending nothing for a cost of 0", () => {
    const policy = perMinute(60);
    const state = gcraConsume(undefined, policy, 15, t0).state;
    expect(gcraConsume(state, policy, 0, t0)).toMatchObject({ allowed: true, remaining: 45, resetMs: 15_000, state });
    expect(gcraConsume(state, policy, 0, t0 + 5_000)).toMatchObject({ remaining: 50, resetMs: 10_000 });
    expect(gcraIsFull(state, t0 + 14_999)).toBe(false);
    expect(gcraIsFull(state, t0 + 15_000)).toBe(true);
  });

  it("charges usage beyond the quota as debt that refuses everything until it is paid off", () => {
    const policy = perMinute(1_000);
    const state = gcraAdjust(undefined, policy, 1_500, t0).state;
    expect(gcraConsume(state, policy, 0, t0)).toMatchObject({ allowed: false, retryAfterMs: 30_000 });
    expect(gcraConsume(state, policy, 0, t0 + 30_000).allowed).toBe(true);
    expect(gcraConsume(state, policy, 1, t0 + 30_000).allowed).toBe(false);
  });

  it("gives back a reservation, never beyond the full quota", () => {
    const policy = perMinute(1_000);
    const reserved = gcraConsume(undefined, policy, 800, t0).state;
    const corrected = gcraAdjust(reserved, policy, -750, t0);
    expect(corrected.remaining).toBe(950);
    expect(gcraAdjust(corrected.state, policy, -10_000, t0).remaining).toBe(1_000);
    expect(gcraConsume(gcraAdjust(corrected.state, policy, -10_000, t0).state, policy, 1_001, t0).allowed).toBe(false);
  });

  it("leaves a bucket exactly full, never fuller, after a refund larger than the charge", () => {
    const policy = perMinute(1_000);
    const charged = gcraConsume(undefined, policy, 100, t0).state;
    const refunded = gcraAdjust(charged, policy, -5_000, t0 + 1_000);
    // The stored state is that of a bucket nobody touched: no credit is kept for later.
    const full = gcraAdjust(undefined, policy, 0, t0 + 1_000).state;
    expect(refunded.state).toEqual(full);
    expect(refunded.state.tat).toBe(BigInt(t0 + 1_000) * 1_000n);
    expect(refunded).toMatchObject({ remaining: 1_000, resetMs: 0 });
    // A second refund on top adds nothing either; the whole quota, and not one unit more, is there.
    const twice = gcraAdjust(refunded.state, policy, -5_000, t0 + 1_000).state;
    expect(twice).toEqual(full);
    expect(gcraConsume(twice, policy, 1_000, t0 + 1_000).allowed).toBe(true);
    expect(burst(twice, policy, 1_001, t0 + 1_000).allowed).toBe(1_000);
  });

  it("keeps the time the bucket is whole again when the limit changes", () => {
    const state = gcraConsume(undefined, perMinute(100), 50, t0).state; // whole at t0 + 30 s
    const doubled = gcraConsume(state, perMinute(200), 0, t0);
    expect(doubled).toMatchObject({ remaining: 100, resetMs: 30_000 });
  });

  it("rejects nonsense policies and costs", () => {
    expect(() => gcraConsume(undefined, perMinute(0), 1, t0)).toThrow(RangeError);
    expect(() => gcraConsume(undefined, { limit: 1, periodMs: 0.5 }, 1, t0)).toThrow(RangeError);
    expect(() => gcraConsume(undefined, perMinute(1), -1, t0)).toThrow(RangeError);
    expect(() => gcraConsume(undefined, perMinute(1), 1.5, t0)).toThrow(RangeError);
  });
});
