import { defaultBackoff, type BackoffPolicy } from "../../shared/backoff.ts";
import { defaultBreakerPolicy, type BreakerPolicy } from "../../shared/circuit-breaker.ts";

export interface Timeouts {
  /** Until a new connection to the provider is open (reused connections skip it). */
  connectMs: number;
  /** Until the provider's response headers arrive. */
  firstByteMs: number;
  /** Until the first content chunk of a stream; headers alone do not count. */
  firstTokenMs: number;
  /** Longest silence between stream chunks once content flows. */
  idleMs: number;
  /** One attempt, start to end, including a whole stream. */
  totalMs: number;
}

export interface RetryPolicy extends BackoffPolicy {
  /** Calls to one target, the first included. */
  maxAttempts: number;
  /** A `Retry-After` longer than this moves on to the next target instead of waiting. */
  retryAfterCapMs: number;
}

/** What governs calls to one target; providers set defaults, routes override them. */
export interface CallPolicy {
  timeouts: Timeouts;
  retry: RetryPolicy;
  breaker: BreakerPolicy;
}

export const defaultCallPolicy: CallPolicy = {
  timeouts: { connectMs: 5_000, firstByteMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 },
  retry: { ...defaultBackoff, maxAttempts: 3, retryAfterCapMs: 10_000 },
  breaker: defaultBreakerPolicy,
};

export interface PolicyOverrides {
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  breaker?: Partial<BreakerPolicy>;
}

/** Later overrides win, field by field. */
export function mergePolicy(base: CallPolicy, ...overrides: Array<PolicyOverrides | undefined>): CallPolicy {
  return overrides.reduce<CallPolicy>(
    (policy, override) =>
      override
        ? {
            timeouts: { ...policy.timeouts, ...override.timeouts },
            retry: { ...policy.retry, ...override.retry },
            breaker: { ...policy.breaker, ...override.breaker },
          }
        : policy,
    base,
  );
}
