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
    const refused = await stub.acquire(policy);

    expect(refused).toMatchObject({ allowed: false, probe: false });
    expect(refused.view.retryAfterMs).toBe(policy.coolDownMs - 2_000);
  });

  it("lets only the configured number of probes through once the cool-down ends", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    const answers = await Promise.all(Array.from({ length: 4 }, () => stub.acquire(policy)));

    expect(answers.filter((answer) => answer.allowed)).toHaveLength(policy.halfOpenMaxProbes);
    expect(answers.filter((answer) => answer.probe)).toHaveLength(policy.halfOpenMaxProbes);
    expect(answers.every((answer) => answer.view.status === "half_open")).toBe(true);
    expect(answers.flatMap((answer) => answer.transitions)).toEqual([{ from: "open", to: "half_open", reason: "cool-down elapsed" }]);
  });

  it("closes after enough probes succeed", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    const transitions = [];
    for (let i = 0; i < policy.halfOpenSuccesses; i += 1) {
      const admission = await stub.acquire(policy);
      expect(admission.probe).toBe(true);
      transitions.push(...(await stub.record(policy, { failures: 0, probe: "success" })).transitions);
    }

    expect(transitions).toEqual([{ from: "half_open", to: "closed", reason: `${policy.halfOpenSuccesses} probes succeeded` }]);
    expect(await stub.view(policy)).toMatchObject({ status: "closed", failures: 0 });
    expect(await stub.acquire(policy)).toMatchObject({ allowed: true, probe: false });
  });

  it("opens again when a probe fails", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);
    await stub.acquire(policy);

    const failed = await stub.record(policy, { failures: 0, probe: "failure" });

    expect(failed.view).toMatchObject({ status: "open", retryAfterMs: policy.coolDownMs });
    expect(failed.transitions).toEqual([{ from: "half_open", to: "open", reason: "probe failed" }]);
  });

  it("gives an unused probe slot back to the next caller", async () => {
    const stub = breaker();
    await trip(stub);
    vi.setSystemTime(Date.now() + policy.coolDownMs);
    await stub.acquire(policy);
    expect((await stub.acquire(policy)).allowed).toBe(false);

    await stub.record(policy, { failures: 0, probe: "unused" });

    expect(await stub.acquire(policy)).toMatchObject({ allowed: true, probe: true });
  });

  it("keeps its state in SQLite across a restart", async () => {
    const stub = breaker();
    await trip(stub);

    await evictDurableObject(stub);

    const rows = await runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ state: string }>("select state from breaker").toArray());
    expect(rows.map((row) => (JSON.parse(row.state) as { status: string }).status)).toEqual(["open"]);
    expect(await stub.view(policy)).toMatchObject({ status: "open", lastTransition: { from: "closed", to: "open" } });
  });

  it("stays open while forced, whatever the probes would say", async () => {
    const stub = breaker();
    await stub.force(policy, "open");
    vi.setSystemTime(Date.now() + policy.coolDownMs * 10);

    expect(await stub.acquire(policy)).toMatchObject({ allowed: false });

    const released = await stub.force(policy, null);
    expect(released.view.status).toBe("closed");
    expect((await stub.acquire(policy)).allowed).toBe(true);
  });
});
