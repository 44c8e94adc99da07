import { backoffDelayMs } from "../../shared/backoff.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Logger } from "../logger.ts";
import type { ModelKind } from "../providers/types.ts";
import { openAttemptScope, type AttemptScope } from "./attempt-scope.ts";
import type { Breakers } from "./breakers.ts";
import { classify, countsAgainstProvider, isModelOverload, type FailureKind } from "./classify.ts";
import type { PlannedTarget, Planner } from "./plan.ts";
import { createRetryBudget, defaultRetryBudget, type RetryBudget, type RetryBudgetPolicy } from "./retry-budget.ts";

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};

export interface AttemptRecord {
  provider: string;
  model: string;
  outcome: string;
}

export interface Served<T> {
  result: T;
  target: PlannedTarget;
  provider: string;
  model: string;
  /** Upstream calls made, retries and fallbacks included. */
  attempts: number;
  history: AttemptRecord[];
}

/**
 * One attempt at one target. `scope` carries the attempt's signal and deadlines; a call
 * that keeps the scope past its return (a stream) must `close()` it when done.
 */
export type AttemptCall<T> = (target: PlannedTarget, scope: AttemptScope) => Promise<T>;

export interface RouterOptions {
  planner: Planner;
  breakers: Breakers;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  retryBudget?: RetryBudgetPolicy;
}

export interface Router {
  /**
   * Tries the plan's targets in order: each behind its breakers, with retries (full-jitter
   * backoff, `Retry-After` honoured up to a cap, within the provider's retry budget), then
   * falls back to the next. `keepScope` leaves the winning attempt's scope open for a stream.
   */
  run<T>(model: string, kind: ModelKind, signal: AbortSignal, call: AttemptCall<T>, keepScope?: boolean): Promise<Served<T>>;
  /** A stream that failed after it reached the client still counts against its provider. */
  reportStreamFailure(target: PlannedTarget, error: unknown): void;
  planner: Planner;
  breakers: Breakers;
}

const breakerId = (target: PlannedTarget) => target.provider.name;
const modelBreakerId = (target: PlannedTarget) => `${target.provider.name}/${target.model}`;

export function createRouter(options: RouterOptions): Router {
  const { planner, breakers, logger } = options;
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  for (const { name, policy } of planner.providers()) breakers.ensure(name, policy.breaker);
  const budgets = new Map<string, RetryBudget>();
  const budgetOf = (provider: string) => {
    let budget = budgets.get(provider);
    if (!budget) budgets.set(provider, (budget = createRetryBudget(options.retryBudget ?? defaultRetryBudget)));
    return budget;
  };

  /** Admits a call through the model breaker (if the provider ever overloaded) and the provider's. */
  function admit(target: PlannedTarget): { allowed: true } | { allowed: false; retryAfterMs?: number } {
    const policy = target.policy.breaker;
    const modelId = modelBreakerId(target);
    const modelLevel = breakers.has(modelId);
    if (modelLevel) {
      const admission = breakers.acquire(modelId, policy);
      if (!admission.allowed) return { allowed: false, retryAfterMs: admission.retryAfterMs };
    }
    const admission = breakers.acquire(breakerId(target), policy);
    if (admission.allowed) return { allowed: true };
    if (modelLevel) breakers.release(modelId);
    return { allowed: false, retryAfterMs: admission.retryAfterMs };
  }

  function settle(target: PlannedTarget, kind: FailureKind | "ok", error?: unknown): void {
    const policy = target.policy.breaker;
    const modelId = modelBreakerId(target);
    if (kind !== "ok" && countsAgainstProvider(kind)) {
      if (isModelOverload(error)) {
        breakers.failure(modelId, policy);
        breakers.release(breakerId(target));
      } else {
        breakers.failure(breakerId(target), policy);
        if (breakers.has(modelId)) breakers.release(modelId);
      }
      return;
    }
    // The provider answered (even if the request was at fault): it is healthy.
    breakers.success(breakerId(target), policy);
    if (breakers.has(modelId)) breakers.success(modelId, policy);
  }

  return {
    breakers,
    planner,
    reportStreamFailure(target, error) {
      const kind = classify(error);
      if (countsAgainstProvider(kind)) settle(target, kind, error);
    },
    async run<T>(model: string, kind: ModelKind, signal: AbortSignal, call: AttemptCall<T>, keepScope = false): Promise<Served<T>> {
      const plan = planner.plan(model, kind, random);
      const history: AttemptRecord[] = [];
      let attempts = 0;
      let retryAfterMs: number | undefined;
      let contextFailure: { error: unknown; window: number } | undefined;
      const hint = (ms: number | undefined) => {
        if (ms !== undefined) retryAfterMs = retryAfterMs === undefined ? ms : Math.min(retryAfterMs, ms);
      };

      for (const target of plan.targets) {
        if (contextFailure && !((target.contextWindow ?? 0) > contextFailure.window)) continue;
        const { retry, timeouts } = target.policy;
        const budget = budgetOf(target.provider.name);
        const record = (outcome: string) => history.push({ provider: target.provider.name, model: target.model, outcome });
        budget.recordRequest(clock.now());

        for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
          const admission = admit(target);
          if (!admission.allowed) {
            record("circuit open");
            hint(admission.retryAfterMs);
            break;
          }
          attempts += 1;
          const scope = openAttemptScope(signal);
          scope.deadline("total", timeouts.totalMs, `${target.provider.name} did not finish within ${timeouts.totalMs} ms`);
          try {
            const result = await call(target, scope);
            settle(target, "ok");
            if (!keepScope) scope.close();
            record("ok");
            return { result, target, provider: target.provider.name, model: target.model, attempts, history };
          } catch (error) {
            scope.close();
            if (signal.aborted) throw signal.reason ?? error;
            const failure = classify(error);
            settle(target, failure, error);
            record(error instanceof Error ? error.message : String(error));
            const retryAfterS = error instanceof GatewayError ? error.retryAfterS : undefined;
            hint(retryAfterS === undefined ? undefined : retryAfterS * 1000);

            if (failure === "client") throw error;
            if (failure === "content_policy") {
              if (!plan.fallbackOnContentPolicy) throw error;
              break;
            }
            if (failure === "context_length") {
              contextFailure = { error, window: target.contextWindow ?? Number.POSITIVE_INFINITY };
              break;
            }
            if (failure !== "retry" || attempt === retry.maxAttempts) break;

            const waitForServer = retryAfterS === undefined ? 0 : retryAfterS * 1000;
            if (waitForServer > retry.retryAfterCapMs) break;
            if (!budget.tryRetry(clock.now())) {
              record("retry budget exhausted");
              break;
            }
            const delay = Math.max(backoffDelayMs(attempt, retry, random), waitForServer);
            await clock.sleep(delay, signal);
          }
        }
      }

      if (contextFailure) throw contextFailure.error;
      const summary = history.map((entry) => `${entry.provider}/${entry.model}: ${entry.outcome}`).join("; ");
      logger.warn("every target failed", { model, attempts, history });
      throw new GatewayError("unavailable", {
        message: `Every target for '${model}' failed: ${summary || "none could be tried"}.`,
        retryAfterS: retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000)),
      });
    },
  };
}
