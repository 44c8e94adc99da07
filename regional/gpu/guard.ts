import { defaultBackoff } from "../../shared/backoff.ts";
import { defaultBreakerPolicy, type BreakerPolicy } from "../../shared/circuit-breaker.ts";
import type { GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import { guardedAttempt, type AttemptEnd, type FailedAttempt } from "../../shared/resilience/attempt.ts";
import { createCoolDowns } from "../../shared/resilience/cool-down.ts";
import { sleep as sleepFor } from "../../shared/resilience/deadline.ts";
import type { Admission } from "../../shared/resilience/lease.ts";
import type { Classified } from "../../shared/resilience/outcome.ts";
import { withRetries } from "../../shared/resilience/retry.ts";
import { createRetryBudget, type RetryBudget } from "../../shared/resilience/retry-budget.ts";
import type { CallContext } from "../providers/types.ts";
import type { Breakers } from "../resilience/breakers.ts";
import { isNotSent, NotSent } from "./not-sent.ts";

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
  once<T>(
    provider: GpuProvider,
    requestId: string,
    signal: AbortSignal,
    call: (context: CallContext) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T>;
  /** An idempotent call: retried with full-jitter backoff while the marketplace fails, within a retry budget. */
  retried<T>(provider: GpuProvider, requestId: string, signal: AbortSignal, call: (context: CallContext) => Promise<T>): Promise<T>;
  /**
   * Throws (a `NotSent`) while the marketplace cools down after refusing the account. Only
   * searches and creates ask: looking at and destroying what is rented must go on.
   */
  refuseIfCooling(provider: GpuProvider): void;
  /** Marketplaces left alone after refusing the account, and until when. */
  coolingDown(): Array<{ provider: string; until: string; reason: string }>;
}

export const breakerId = (provider: GpuProvider): string => `gpu:${provider}`;

/** Refused before any call: ours, so no breaker hears of it. */
const local: Classified = { outcome: "local", transport: false };

/** What a guarded marketplace call came to, as the caller sees it: the answer, or the error. */
function answerOf<T>(end: AttemptEnd<T>, provider: GpuProvider): T {
  if (end.kind === "served") return end.result;
  if (end.kind === "refused")
    throw new NotSent("circuit_open", {
      message: `${provider} is disabled after repeated failures.`,
      retryAfterS: end.retryAfterMs / 1000,
    });
  throw end.error;
}

/**
 * Whether a failed call may be repeated: the marketplace's own word first (`retry: false`
 * for a billing refusal), then the outcome — its faults and rate limits pass with time.
 */
function retryable(failure: FailedAttempt): boolean {
  const said = failure.error instanceof GatewayError ? failure.error.retry : undefined;
  if (said !== undefined) return said;
  return failure.classified.outcome === "provider_fault" || failure.classified.outcome === "rate_limited";
}

/**
 * Breakers, deadlines, retries and cool-downs for marketplace calls (the shared resilience
 * policies), one breaker, retry budget and cool-down per marketplace. A marketplace that
 * refused the account (`retry: false`, a rate-limited outcome) is cooled for the wait it
 * came with; pacing refusals from the adapters settle no breaker.
 */
export function createGpuGuard(options: GuardOptions): Guard {
  const policy = options.breakerPolicy ?? defaultBreakerPolicy;
  const now = options.now ?? Date.now;
  const pause = options.sleep;
  const budgets = new Map<GpuProvider, RetryBudget>();
  const coolDowns = createCoolDowns(16);
  const coolReasons = new Map<string, string>();
  const budget = (provider: GpuProvider): RetryBudget => {
    const found = budgets.get(provider) ?? createRetryBudget();
    budgets.set(provider, found);
    return found;
  };

  function refuseIfCooling(provider: GpuProvider): void {
    const left = coolDowns.remaining(provider, now());
    if (left > 0)
      throw new NotSent("unavailable", {
        message: `${provider} cannot serve now: ${coolReasons.get(provider) ?? "cooling down"}`,
        retryAfterS: left / 1000,
      });
  }

  function noteFailure(provider: GpuProvider, end: AttemptEnd<unknown>): void {
    if (
      end.kind !== "failed" ||
      end.classified.outcome !== "rate_limited" ||
      !(end.error instanceof GatewayError) ||
      end.error.retry !== false
    )
      return;
    coolDowns.cool(provider, (end.error.retryAfterS ?? 60) * 1000, now());
    coolReasons.set(provider, end.error.message);
  }

  async function attempt<T>(
    provider: GpuProvider,
    requestId: string,
    signal: AbortSignal,
    call: (context: CallContext) => Promise<T>,
    timeoutMs: number,
  ): Promise<AttemptEnd<T>> {
    let refusedLocally = false;
    const end = await guardedAttempt({
      admit: (): Admission => {
        const admission = options.breakers.lease({ provider: breakerId(provider) }, policy, timeoutMs);
        if (!admission.admitted) return admission;
        return { admitted: true, lease: { settle: (result) => admission.lease.settle(refusedLocally ? local : result) } };
      },
      signal,
      totalMs: timeoutMs,
      totalMessage: `${provider} did not answer within ${timeoutMs} ms`,
      call: async (scope) => {
        try {
          return await call({ signal: scope.signal, requestId });
        } catch (error) {
          refusedLocally = isNotSent(error);
          throw error;
        }
      },
    });
    noteFailure(provider, end);
    return end;
  }

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
        retryable,
      );
      return answerOf(end, provider);
    },
    refuseIfCooling,
    coolingDown() {
      return coolDowns
        .list(now())
        .map(({ key, until }) => ({ provider: key, until: new Date(until).toISOString(), reason: coolReasons.get(key) ?? "" }));
    },
  };
}
