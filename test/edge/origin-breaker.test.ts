import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { originBreakerPolicy as policy } from "../../edge/settings.ts";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
});

const breaker = () => env.ORIGIN_BREAKER.getByName(`test-${crypto.randomUUID()}`);
/** How long a probe slot is leased for: a call's deadline. */
const leaseMs = 30_000;

/** Opens the breaker with as many failures as the policy needs. */
async function trip(stub: ReturnType<typeof breaker>): Promise<void> {
  await stub.record(policy, { failures: policy.failureThreshold });
}

describe("the OriginBreaker Durable Object", () => {
  it("stays closed below the failure threshold and opens when it is reached", async () => {
    const stub = breaker();
    const below = await stub.record(policy, { failures: policy.failureThreshold - 1 });
    expect(below.view).toMatchObject({ status: "closed", failures: policy.failureThreshold - 1 });
    expect(below.transitions).toEqual([]);

    const reached = await stub.record(policy, { failures: 1 });
    expect(reached.view).toMatchObject({ status: "open", retryAfterMs: policy.coolDownMs });
    expect(reached.transitions).toEqual([{ from: "closed", to: "open", reason: expect.stringContaining("failures") }]);
  });

  it("forgets failures that fell out of the window", async () => {
    const stub = breaker();
    await stub.record(policy, { failures: policy.failureThreshold - 1 });

    vi.setSystemTime(Date.now() + policy.windowMs + 1_000);
    const later = await stub.record(policy, { failures: 1 });

    expect(later.view).toMatchObject({ status: "closed", failures: 1 });
  });

  it("refuses calls while open and tells how long until a probe may go", async () => {
    const stub = breaker();
    await trip(stub);

    vi.setSystemTime(Date.now() + 2_000);
    const refused = await stub.acquire(policy, leaseMs);

    expect(refused).toMatchObject({ allowed: false, lease: null });
    expect(refused.view.retryAfterMs).toBe(policy.coolDownMs - 2_000);
  });

  it("lets only the configured number of probes through once the cool-down ends", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    const answers = await Promise.all(Array.from({ length: 4 }, () => stub.acquire(policy, leaseMs)));

    expect(answers.filter((answer) => answer.allowed)).toHaveLength(policy.halfOpenMaxProbes);
    expect(answers.filter((answer) => answer.lease !== null)).toHaveLength(policy.halfOpenMaxProbes);
    expect(answers.every((answer) => answer.view.status === "half_open")).toBe(true);
    expect(answers.flatMap((answer) => answer.transitions)).toEqual([{ from: "open", to: "half_open", reason: "cool-down elapsed" }]);
  });

  it("closes after enough probes succeed", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    const transitions = [];
    for (let i = 0; i < policy.halfOpenSuccesses; i += 1) {
      const { lease } = await stub.acquire(policy, leaseMs);
      expect(lease).not.toBeNull();
      transitions.push(...(await stub.record(policy, { failures: 0, probe: { lease: lease!, result: "success" } })).transitions);
    }

    expect(transitions).toEqual([{ from: "half_open", to: "closed", reason: `${policy.halfOpenSuccesses} probes succeeded` }]);
    expect(await stub.view(policy)).toMatchObject({ status: "closed", failures: 0 });
    expect(await stub.acquire(policy, leaseMs)).toMatchObject({ allowed: true, lease: null });
  });

  it("opens again when a probe fails", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);
    const { lease } = await stub.acquire(policy, leaseMs);

    const failed = await stub.record(policy, { failures: 0, probe: { lease: lease!, result: "failure" } });

    expect(failed.view).toMatchObject({ status: "open", retryAfterMs: policy.coolDownMs });
    expect(failed.transitions).toEqual([{ from: "half_open", to: "open", reason: "probe failed" }]);
  });

  it("gives an unused probe slot back to the next caller", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);
    const { lease } = await stub.acquire(policy, leaseMs);
    expect((await stub.acquire(policy, leaseMs)).allowed).toBe(false);

    await stub.record(policy, { failures: 0, probe: { lease: lease!, result: "unused" } });

    expect(await stub.acquire(policy, leaseMs)).toMatchObject({ allowed: true, lease: expect.any(Number) });
  });

  it("keeps its state in SQLite across a restart", async () => {
    const stub = breaker();
    await trip(stub);

    await evictDurableObject(stub);

    const rows = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ state: string }>("select state from breaker").toArray(),
    );
    expect(rows.map((row) => (JSON.parse(row.state) as { status: string }).status)).toEqual(["open"]);
    expect(await stub.view(policy)).toMatchObject({ status: "open", lastTransition: { from: "closed", to: "open" } });
  });

  it("stays open while forced, whatever the probes would say", async () => {
    const stub = breaker();
    await stub.force(policy, "open");
    vi.setSystemTime(Date.now() + policy.coolDownMs * 10);

    expect(await stub.acquire(policy, leaseMs)).toMatchObject({ allowed: false });

    const released = await stub.force(policy, null);
    expect(released.view.status).toBe("closed");
    expect((await stub.acquire(policy, leaseMs)).allowed).toBe(true);
  });
});

describe("probe slots as leases", () => {
  /** Trips the breaker and waits out its cool-down, so the next acquire may probe. */
  async function halfOpen(stub: ReturnType<typeof breaker>): Promise<void> {
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);
  }

  it("frees a probe slot whose report never came once its lease expires", async () => {
    const stub = breaker();
    await halfOpen(stub);
    const held = await Promise.all(Array.from({ length: policy.halfOpenMaxProbes }, () => stub.acquire(policy, leaseMs)));
    expect(held.every((answer) => answer.lease !== null)).toBe(true);

    vi.setSystemTime(Date.now() + leaseMs - 1);
    const stillHeld = await stub.acquire(policy, leaseMs);
    expect(stillHeld).toMatchObject({ allowed: false, lease: null });
    expect(stillHeld.view.probesInFlight).toBe(policy.halfOpenMaxProbes);

    vi.setSystemTime(Date.now() + 1);
    const next = await stub.acquire(policy, leaseMs);
    expect(next).toMatchObject({ allowed: true, lease: expect.any(Number) });
    expect(next.view).toMatchObject({ status: "half_open", probesInFlight: 1 });
  });

  it("ignores a late report from a probe whose lease expired, and counts the probe that holds the slot", async () => {
    const stub = breaker();
    await halfOpen(stub);
    const late = await stub.acquire(policy, leaseMs);
    vi.setSystemTime(Date.now() + leaseMs);
    const current = await stub.acquire(policy, leaseMs);

    const ignored = await stub.record(policy, { failures: 0, probe: { lease: late.lease!, result: "failure" } });
    expect(ignored.transitions).toEqual([]);
    expect(ignored.view).toMatchObject({ status: "half_open", probesInFlight: 1 });

    const counted = await stub.record(policy, { failures: 0, probe: { lease: current.lease!, result: "failure" } });
    expect(counted.transitions).toEqual([{ from: "half_open", to: "open", reason: "probe failed" }]);
  });

  it("loads a breaker stored before leases, stuck half-open with its slot counted as held, and lets a probe through", async () => {
    const stub = breaker();
    // The shape stored before probe slots were leases: a bare count, never given back by a lost report.
    const stored = {
      status: "half_open",
      buckets: [],
      openedAt: Date.now() - policy.coolDownMs,
      probesInFlight: policy.halfOpenMaxProbes,
      probeSuccesses: 0,
      forced: null,
    };
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(
        "create table if not exists breaker (id integer primary key check (id = 1), state text not null, last_transition text)",
      );
      state.storage.sql.exec("insert into breaker (id, state, last_transition) values (1, ?, null)", JSON.stringify(stored));
    });

    const admission = await stub.acquire(policy, leaseMs);

    expect(admission).toMatchObject({ allowed: true, lease: expect.any(Number), view: { status: "half_open", probesInFlight: 1 } });
    expect((await stub.record(policy, { failures: 0, probe: { lease: admission.lease!, result: "success" } })).view.probesInFlight).toBe(0);
  });

  it("starts a fresh failure window when an operator's override is lifted", async () => {
    const stub = breaker();
    await stub.record(policy, { failures: policy.failureThreshold - 1 });
    await stub.force(policy, "closed");
    // Counted while held closed, where they cannot open it.
    expect((await stub.record(policy, { failures: policy.failureThreshold })).view).toMatchObject({ status: "closed", forced: "closed" });

    const lifted = await stub.force(policy, null);
    expect(lifted.view).toMatchObject({ status: "closed", forced: null, failures: 0 });

    const next = await stub.record(policy, { failures: 1 });
    expect(next.view).toMatchObject({ status: "closed", failures: 1 });
    expect(next.transitions).toEqual([]);
  });
});
