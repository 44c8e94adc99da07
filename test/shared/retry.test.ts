import { describe, expect, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import type { AttemptEnd } from "../../shared/resilience/attempt.ts";
import { createCoolDowns } from "../../shared/resilience/cool-down.ts";
import { classifyFailure } from "../../shared/resilience/outcome.ts";
import { withRetries, type RetryContext } from "../../shared/resilience/retry.ts";
import { createRetryBudget } from "../../shared/resilience/retry-budget.ts";

const policy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, retryAfterCapMs: 2_000 };
const failed = (error: GatewayError): AttemptEnd<string> => ({ kind: "failed", error, classified: classifyFailure(error, false) });

function context(extra: Partial<RetryContext> = {}): RetryContext & { slept: number[] } {
  const slept: number[] = [];
  return {
    signal: new AbortController().signal,
    now: () => 0,
    random: () => 0.5,
    sleep: async (ms) => void slept.push(ms),
    slept,
    ...extra,
  };
}

describe("retries", () => {
  it("retries provider faults with backoff until the attempts run out", async () => {
    const ctx = context();
    let calls = 0;
    const { end } = await withRetries(
      policy,
      ctx,
      async () => (calls++, failed(new GatewayError("upstream_error", { upstreamStatus: 503 }))),
      () => true,
    );
    expect(end.kind).toBe("failed");
    expect(calls).toBe(3);
    expect(ctx.slept).toEqual([50, 100]);
  });

  it("waits for Retry-After when longer than the backoff, and stops when it passes the cap", async () => {
    const ctx = context();
    await withRetries(
      policy,
      ctx,
      async () => failed(new GatewayError("rate_limited", { upstreamStatus: 429, retryAfterS: 1 })),
      () => true,
    );
    expect(ctx.slept).toEqual([1_000, 1_000]);
    const capped = await withRetries(
      policy,
      context(),
      async () => failed(new GatewayError("rate_limited", { upstreamStatus: 429, retryAfterS: 5 })),
      () => true,
    );
    expect(capped.stopped).toBe("retry-after beyond cap");
  });

  it("draws on the budget for provider faults only", async () => {
    const budget = createRetryBudget({ ratio: 0, floor: 0, windowMs: 10_000 });
    const faults = await withRetries(
      policy,
      context({ budget }),
      async () => failed(new GatewayError("upstream_error", { upstreamStatus: 500 })),
      () => true,
    );
    expect(faults.stopped).toBe("retry budget exhausted");
    let calls = 0;
    await withRetries(
      policy,
      context({ budget }),
      async () => (calls++, failed(new GatewayError("rate_limited", { upstreamStatus: 429, retryAfterS: 0 }))),
      () => true,
    );
    expect(calls).toBe(3);
  });

  it("stops at once when waiting is pointless", async () => {
    let calls = 0;
    const result = await withRetries(
      policy,
      context({ blocked: () => true }),
      async () => (calls++, failed(new GatewayError("upstream_error", { upstreamStatus: 500 }))),
      () => true,
    );
    expect(result.stopped).toBe("blocked");
    expect(calls).toBe(1);
  });
});

describe("cool-downs", () => {
  it("cool a key for as long as asked, never shorter than already set, and forget it after", () => {
    const coolDowns = createCoolDowns(2);
    coolDowns.cool("a", 1_000, 0);
    coolDowns.cool("a", 500, 0);
    expect(coolDowns.remaining("a", 400)).toBe(600);
    expect(coolDowns.remaining("a", 1_000)).toBe(0);
  });

  it("stay bounded, dropping the oldest", () => {
    const coolDowns = createCoolDowns(2);
    for (const key of ["a", "b", "c"]) coolDowns.cool(key, 1_000, 0);
    expect(coolDowns.remaining("a", 1)).toBe(0);
    expect(coolDowns.list(1).map((entry) => entry.key)).toEqual(["b", "c"]);
  });
});
