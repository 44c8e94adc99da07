import { backoffDelayMs } from "../../shared/backoff.ts";
import { defaultBreakerPolicy, type BreakerPolicy } from "../../shared/circuit-breaker.ts";
import type { GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { CallContext } from "../providers/types.ts";
import { openAttemptScope } from "../routing/attempt-scope.ts";
import type { Breakers } from "../routing/breakers.ts";
import { createRetryBudget, type RetryBudget } from "../routing/retry-budget.ts";
import { marketplaceFault } from "./provider-errors.ts";

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

/** Breakers, deadlines and retries for marketplace calls, one breaker and budget per marketplace. */
export function createGpuGuard(options: GuardOptions): Guard {
  const policy = options.breakerPolicy ?? defaultBreakerPolicy;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const budgets = new Map<GpuProvider, RetryBudget>();
  const budget = (provider: GpuProvider): RetryBudget => {
    const found = budgets.get(provider) ?? createRetryBudget();
    budgets.set(provider, found);
    return found;
  };

  async function once<T>(provider: GpuProvider, requestId: string, signal: AbortSignal, call: (context: CallContext) => Promise<T>, timeoutMs = options.timeoutMs): Promise<T> {
    const id = breakerId(provider);
    const admission = options.breakers.acquire(id, policy);
    if (!admission.allowed) throw new GatewayError("circuit_open", { message: `${provider} is disabled after repeated failures.`, retryAfterS: (admission.retryAfterMs ?? 0) / 1000 });
    const scope = openAttemptScope(signal);
    scope.deadline("total", timeoutMs, `${provider} did not answer within ${timeoutMs} ms`);
    try {
      const result = await call({ signal: scope.signal, requestId });
      options.breakers.success(id, policy);
      return result;
    } catch (error) {
      if (signal.aborted) options.breakers.release(id);
      else if (marketplaceFault(error)) options.breakers.failure(id, policy);
      else options.breakers.success(id, policy);
      throw error;
    } finally {
      scope.close();
    }
  }

  return {
    once,
    async retried(provider, requestId, signal, call) {
      budget(provider).recordRequest(now());
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(provider, requestId, signal, call);
        } catch (error) {
          const retryable = marketplaceFault(error) && !(error instanceof GatewayError && error.code === "circuit_open") && !signal.aborted;
          if (!retryable || attempt >= options.attempts || !budget(provider).tryRetry(now())) throw error;
          await sleep(backoffDelayMs(attempt, undefined, options.random));
        }
      }
    },
  };
}
