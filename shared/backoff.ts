export interface BackoffPolicy {
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialDelayMs: 100, multiplier: 2, maxDelayMs: 10_000 };

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): a uniform draw
 * between 0 and the exponential ceiling, so synchronized clients spread out.
 * `retry` counts from 1 for the first retry.
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}
