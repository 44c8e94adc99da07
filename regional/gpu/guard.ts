import { defaultBackoff } from "../../shared/backoff.ts";
import { defaultBreakerPolicy, type BreakerPolicy } from "../../shared/circuit-breaker.ts";
import type { GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import { guardedAttempt, type AttemptEnd } from "../../shared/resilience/attempt.ts";
import { sleep as sleepFor } from "../../shared/resilience/deadline.ts";
import { withRetries } from "../../shared/resilience/retry.ts";
import { createRetryBudget, type RetryBudget } from "../../shared/resilience/retry-budget.ts";
import type { CallContext } from "../providers/types.ts";
import type { Breakers } from "../routing/breakers.ts";

export interface GuardOptions {
  breakers: Breakers;
  breakerPolicy?: BreakerPolicy;
  /** Deadline of one call to a marketplace. */
  timeoutMs: number;
  /** Calls per idempotent operation (search, look-ups, destroy), the first included. */
  attempts: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Guard {
  /** One call through the marketplace's breaker, under the deadline. Never retried. */
  once<T>(provider: GpuProvider, requestId: string, signal: AbortSignal, call: (context: CallContext) => Promise<T>, timeoutMs?: number): Promise<T>;
  /** An idempotent call: retried with full-jitter backoff while the marketplace fails, within a retry budget. */
  retried<T>(provider: GpuProvider, requestId: string, signal: AbortSignal, call: (context: CallContext) => Promise<T>): Promise<T>;
}

export const breakerId = (provider: GpuProvider): string => `gpu:${provider}`;

/** What a guarded marketplace call came to, as the caller sees it: the answer, or the error. */
function answerOf<T>(end: AttemptEnd<T>, provider: GpuProvider): T {
  if (end.kind === "served") return end.result;
  if (end.kind === "refused") throw new GatewayError("circuit_open", { message: `${provider} is disabled after repeated failures.`, retryAfterS: end.retryAfterMs / 1000 });
  throw end.error;
}

/** Breakers, deadlines and retries for marketplace calls (the shared resilience policies), one breaker and budget per marketplace. */
export function createGpuGuard(options: GuardOptions): Guard {
  const policy = options.breakerPolicy ?? defaultBreakerPolicy;
  const now = options.now ?? Date.now;
  const pause = options.sleep;
  const budgets = new Map<GpuProvider, RetryBudget>();
  const budget = (provider: GpuProvider): RetryBudget => {
    const found = budgets.get(provider) ?? createRetryBudget();
    budgets.set(provider, found);
    return found;
  };

  const attempt = <T>(provider: GpuProvider, requestId: string, signal: AbortSignal, call: (context: CallContext) => Promise<T>, timeoutMs: number) =>
    guardedAttempt({
      admit: () => options.breakers.lease({ provider: breakerId(provider) }, policy, timeoutMs),
      signal,
      totalMs: timeoutMs,
      totalMessage: `${provider} did not answer within ${timeoutMs} ms`,
      call: (scope) => call({ signal: scope.signal, requestId }),
    });

  return {
    async once(provider, requestId, signal, call, timeoutMs = options.timeoutMs) {
      return answerOf(await attempt(provider, requestId, signal, call, timeoutMs), provider);
    },
    async retried(provider, requestId, signal, call) {
      const { end } = await withRetries(
        { ...defaultBackoff, maxAttempts: options.attempts, retryAfterCapMs: options.timeoutMs },
        {
          signal,
          now,
          random: options.random ?? Math.random,
          sleep: pause ? (ms) => pause(ms) : sleepFor,
          budget: budget(provider),
          blocked: () => options.breakers.openFor({ provider: breakerId(provider) }, policy) > 0,
        },
        () => attempt(provider, requestId, signal, call, options.timeoutMs),
        (failure) => failure.classified.outcome === "provider_fault" || failure.classified.outcome === "rate_limited",
      );
      return answerOf(end, provider);
    },
  };
}
