import { describe, expect, it } from "vitest";
import { backoffDelayMs, defaultBackoff } from "../../shared/backoff.ts";

describe("backoff with full jitter", () => {
  it("draws uniformly below a ceiling that doubles from 100 ms up to 10 s", () => {
    const ceilings = [1, 2, 3, 4, 8, 12].map((retry) => backoffDelayMs(retry, defaultBackoff, () => 0.999999));
    expect(ceilings).toEqual([99, 199, 399, 799, 9_999, 9_999]);
    expect(backoffDelayMs(3, defaultBackoff, () => 0)).toBe(0);
    expect(backoffDelayMs(3, defaultBackoff, () => 0.5)).toBe(200);
  });
});
