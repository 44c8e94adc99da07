import { describe, expect, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import { createGpuGuard } from "../../regional/gpu/guard.ts";
import { NotSent } from "../../regional/gpu/not-sent.ts";
import { createLogger } from "../../regional/logger.ts";
import { createBreakers } from "../../regional/resilience/breakers.ts";

function guarded() {
  const clock = { now: 1_000_000 };
  const breakers = createBreakers(createLogger("silent"), () => clock.now);
  const guard = createGpuGuard({ breakers, timeoutMs: 1_000, attempts: 3, now: () => clock.now, random: () => 0, sleep: async () => {} });
  const status = () => breakers.list().find((breaker) => breaker.id === "gpu:vastai")?.state.status;
  return { clock, guard, status };
}

const signal = new AbortController().signal;
const fails = (error: unknown) => async (): Promise<never> => {
  throw error;
};
const settle = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    () => "failed",
  );

describe("GPU guard", () => {
  it("lets a call the adapter refused itself (paced) count neither against the marketplace nor for it", async () => {
    const { clock, guard, status } = guarded();
    for (let n = 0; n < 5; n++)
      await settle(guard.once("vastai", "r", signal, fails(new GatewayError("upstream_error", { upstreamStatus: 500 }))));
    expect(status()).toBe("open");
    clock.now += 60_000;
    for (let n = 0; n < 3; n++) await settle(guard.once("vastai", "r", signal, fails(new NotSent("rate_limited", { retryAfterS: 6 }))));
    // Paced refusals are no probe successes: the breaker still waits for real answers.
    expect(status()).toBe("half_open");
    for (let n = 0; n < 2; n++) await guard.once("vastai", "r", signal, async () => "answered");
    expect(status()).toBe("closed");
  });

  it("never repeats a call the marketplace said not to (retry: false), and repeats a 429 after its wait", async () => {
    const { guard } = guarded();
    let billing = 0;
    const refused = new GatewayError("unavailable", { upstreamStatus: 402, retry: false, retryAfterS: 300 });
    await settle(
      guard.retried("vastai", "r", signal, async () => {
        billing += 1;
        throw refused;
      }),
    );
    expect(billing).toBe(1);
    let limited = 0;
    await settle(
      guard.retried("ionet", "r", signal, async () => {
        limited += 1;
        throw new GatewayError("rate_limited", { upstreamStatus: 429, retryAfterS: 0.5 });
      }),
    );
    expect(limited).toBe(3);
  });

  it("cools a marketplace that refused the account for the wait it gave, for searches and creates only", async () => {
    const { clock, guard } = guarded();
    await settle(
      guard.once(
        "vastai",
        "r",
        signal,
        fails(
          new GatewayError("unavailable", {
            upstreamStatus: 402,
            retry: false,
            retryAfterS: 300,
            message: "vastai cannot serve now: no credit",
          }),
        ),
      ),
    );
    expect(() => guard.refuseIfCooling("vastai")).toThrow(expect.objectContaining({ code: "unavailable", retryAfterS: 300 }));
    expect(() => guard.refuseIfCooling("ionet")).not.toThrow();
    // Looking and destroying are not refused: they do not ask.
    expect(await guard.once("vastai", "r", signal, async () => "destroyed")).toBe("destroyed");
    expect(guard.coolingDown()).toEqual([
      { provider: "vastai", until: new Date(clock.now + 300_000).toISOString(), reason: "vastai cannot serve now: no credit" },
    ]);
    clock.now += 300_001;
    expect(() => guard.refuseIfCooling("vastai")).not.toThrow();
  });
});
