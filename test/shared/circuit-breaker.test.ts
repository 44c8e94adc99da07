import { describe, expect, it } from "vitest";
import {
  acquire,
  createBreaker,
  defaultBreakerPolicy,
  force,
  probesInFlight,
  recordFailure,
  recordSuccess,
  releaseProbe,
  upgradeBreaker,
  type BreakerPolicy,
  type BreakerState,
} from "../../shared/circuit-breaker.ts";

const policy = defaultBreakerPolicy;
const fail = (state = createBreaker(), times: number, at: number, p: BreakerPolicy = policy) => {
  for (let i = 0; i < times; i++) recordFailure(state, p, at);
  return state;
};

describe("circuit breaker", () => {
  it("opens after 5 failures in the window", () => {
    const state = fail(createBreaker(), 4, 0);
    expect(state.status).toBe("closed");
    expect(recordFailure(state, policy, 1_000)).toEqual({ from: "closed", to: "open", reason: "5 failures within 120 s" });
    expect(acquire(state, policy, 2_000)).toEqual({ allowed: false, retryAfterMs: 59_000 });
  });

  it("forgets failures that fell out of the rolling window", () => {
    const state = fail(createBreaker(), 4, 0);
    recordFailure(state, policy, 130_000);
    expect(state.status).toBe("closed");
  });

  it("opens on a failure ratio only once the minimum number of calls is reached", () => {
    const ratio: BreakerPolicy = { ...policy, trip: "ratio", failureThreshold: 1_000 };
    const state = createBreaker();
    for (let i = 0; i < 3; i++) recordSuccess(state, ratio, 0);
    fail(state, 6, 0, ratio);
    expect(state.status).toBe("closed");
    recordFailure(state, ratio, 0);
    expect(state.status).toBe("open");
  });

  it("goes half-open after the cool-down and admits at most 3 probes", () => {
    const state = fail(createBreaker(), 5, 0);
    expect(acquire(state, policy, 59_999).allowed).toBe(false);
    const first = acquire(state, policy, 60_000);
    expect(first).toMatchObject({ allowed: true, transition: { from: "open", to: "half_open" } });
    expect(acquire(state, policy, 60_001).allowed).toBe(true);
    expect(acquire(state, policy, 60_002).allowed).toBe(true);
    expect(acquire(state, policy, 60_003).allowed).toBe(false);
  });

  it("closes after 2 probe successes and reopens on a probe failure", () => {
    const state = fail(createBreaker(), 5, 0);
    const first = acquire(state, policy, 60_000).lease;
    const second = acquire(state, policy, 60_000).lease;
    expect(recordSuccess(state, policy, 60_001, first)).toBeUndefined();
    expect(recordSuccess(state, policy, 60_002, second)).toMatchObject({ from: "half_open", to: "closed" });
    expect(state.buckets).toEqual([]);

    fail(state, 5, 70_000);
    const probe = acquire(state, policy, 130_000).lease;
    expect(recordFailure(state, policy, 130_001, probe)).toMatchObject({ from: "half_open", to: "open" });
    expect(acquire(state, policy, 130_002).allowed).toBe(false);
  });

  it("holds when forced, and resumes from closed when released", () => {
    const state = createBreaker();
    expect(force(state, "open", 0)).toMatchObject({ to: "open", reason: "forced open" });
    expect(acquire(state, policy, 10 * 60_000).allowed).toBe(false);
    force(state, "closed", 1);
    fail(state, 50, 2);
    expect(acquire(state, policy, 3).allowed).toBe(true);
    force(state, null, 4);
    expect(state).toMatchObject({ status: "closed", forced: null });
  });

  it("is plain JSON that survives a round trip", () => {
    const state = fail(createBreaker(), 5, 0);
    const copy = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(acquire(copy, policy, 60_000).allowed).toBe(true);
    expect(copy.status).toBe("half_open");
  });
});

describe("half-open probe slots are leases", () => {
  const open = () => fail(createBreaker(), 5, 0);

  it("frees a slot whose holder never reports once its lease expires", () => {
    const state = open();
    for (let i = 0; i < 3; i++) expect(acquire(state, policy, 60_000, 1_000).allowed).toBe(true);
    expect(acquire(state, policy, 60_500, 1_000)).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(acquire(state, policy, 61_000, 1_000).allowed).toBe(true);
    expect(probesInFlight(state, 61_000)).toBe(1);
  });

  it("gives released slots back at once", () => {
    const state = open();
    const leases = [0, 1, 2].map(() => acquire(state, policy, 60_000, 30_000).lease);
    for (const lease of leases) releaseProbe(state, lease);
    expect(acquire(state, policy, 60_001, 30_000).allowed).toBe(true);
  });

  it("counts only results of leases still held", () => {
    const state = open();
    const { lease } = acquire(state, policy, 60_000, 1_000);
    // A call let through while closed that fails late says nothing about the probes.
    expect(recordFailure(state, policy, 60_100)).toBeUndefined();
    expect(state.status).toBe("half_open");
    // The lease expired: its late success does not count either.
    acquire(state, policy, 61_500, 1_000);
    expect(recordSuccess(state, policy, 61_600, lease)).toBeUndefined();
    expect(state.probeSuccesses).toBe(0);
  });

  it("upgrades a state stored before leases existed", () => {
    const stored = {
      status: "half_open",
      buckets: [],
      openedAt: 0,
      probesInFlight: 3,
      probeSuccesses: 0,
      forced: null,
    } as unknown as Partial<BreakerState>;
    const state = upgradeBreaker(stored);
    expect(acquire(state, policy, 60_000, 1_000).allowed).toBe(true);
  });

  it("released from a forced state, it starts a fresh window", () => {
    const state = createBreaker();
    fail(state, 4, 0);
    force(state, "closed", 1);
    fail(state, 10, 2);
    force(state, null, 3);
    expect(recordFailure(state, policy, 4)).toBeUndefined();
    expect(state.status).toBe("closed");
  });
});
