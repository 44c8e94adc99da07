import { describe, expect, it } from "vitest";
import { createRetryBudget } from "../../shared/resilience/retry-budget.ts";

describe("retry budget", () => {
  it("allows the floor plus 20 % of requests in the window", () => {
    const budget = createRetryBudget({ ratio: 0.2, floor: 2, windowMs: 10_000 });
    for (let i = 0; i < 50; i++) budget.recordRequest(0);
    const granted = Array.from({ length: 20 }, () => budget.tryRetry(0)).filter(Boolean).length;
    expect(granted).toBe(12);
  });

  it("refills as old requests and retries leave the sliding window", () => {
    const budget = createRetryBudget({ ratio: 0.2, floor: 0, windowMs: 10_000 });
    for (let i = 0; i < 10; i++) budget.recordRequest(0);
    expect(budget.tryRetry(0)).toBe(true);
    expect(budget.tryRetry(0)).toBe(true);
    expect(budget.tryRetry(0)).toBe(false);
    expect(budget.tryRetry(10_500)).toBe(false);
    for (let i = 0; i < 10; i++) budget.recordRequest(10_500);
    expect(budget.tryRetry(10_500)).toBe(true);
  });
});
