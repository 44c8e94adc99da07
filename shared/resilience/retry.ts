import { backoffDelayMs, type BackoffPolicy } from "../backoff.ts";
import { GatewayError } from "../error.ts";
import type { AttemptEnd, FailedAttempt } from "./attempt.ts";
import type { RetryBudget } from "./retry-budget.ts";

export interface RetryPolicy extends BackoffPolicy {
  /** Calls to one target, the first included. */
  maxAttempts: number;
  /** A `Retry-After` longer than this moves on instead of waiting. */
  retryAfterCapMs: number;
}

export interface RetryContext {
  signal: AbortSignal;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
  /** Retries after provider faults draw on it; retries after a 429 do not (the provider is not failing). */
  budget?: RetryBudget;
  /** Whether waiting is pointless now (the breaker opened, a long cool-down began): then stop at once. */
  blocked?(): boolean;
}

export interface Retried<T> {
  end: AttemptEnd<T>;
  /** Why retrying stopped before the attempts ran out, if it did. */
  stopped?: "retry budget exhausted" | "retry-after beyond cap" | "blocked";
}

/** The wait an upstream asked for, in ms. */
export function retryAfterMsOf(error: unknown): number | undefined {
  return error instanceof GatewayError && error.retryAfterS !== undefined ? error.retryAfterS * 1000 : undefined;
}

/**
 * Runs `attempt` until it serves, is refused, fails in a way `retryable` rejects, or the
 * attempts run out. Between attempts: full-jitter backoff, or the upstream's `Retry-After`
 * when longer (beyond the cap it stops instead of waiting).
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  context: RetryContext,
  attempt: (n: number) => Promise<AttemptEnd<T>>,
  retryable: (failure: FailedAttempt) => boolean,
): Promise<Retried<T>> {
  context.budget?.recordRequest(context.now());
  for (let n = 1; ; n++) {
    const end = await attempt(n);
    if (end.kind !== "failed" || n >= policy.maxAttempts || !retryable(end)) return { end };
    const waitForServer = retryAfterMsOf(end.error) ?? 0;
    if (waitForServer > policy.retryAfterCapMs) return { end, stopped: "retry-after beyond cap" };
    if (context.blocked?.()) return { end, stopped: "blocked" };
    if (end.classified.outcome === "provider_fault" && context.budget && !context.budget.tryRetry(context.now()))
      return { end, stopped: "retry budget exhausted" };
    await context.sleep(Math.max(backoffDelayMs(n, policy, context.random), waitForServer), context.signal);
  }
}
