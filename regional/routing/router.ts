import type { Context } from "@opentelemetry/api";
import { GatewayError } from "../../shared/error.ts";
import { guardedAttempt, type AttemptEnd, type FailedAttempt } from "../../shared/resilience/attempt.ts";
import { createCoolDowns, type CoolDowns } from "../../shared/resilience/cool-down.ts";
import { AttemptTimeout, sleep, type AttemptScope } from "../../shared/resilience/deadline.ts";
import { classifyFailure } from "../../shared/resilience/outcome.ts";
import { withRetries, retryAfterMsOf, type Retried } from "../../shared/resilience/retry.ts";
import { createRetryBudget, defaultRetryBudget, type RetryBudget, type RetryBudgetPolicy } from "../../shared/resilience/retry-budget.ts";
import { createCapacity, type Capacity, type HeaderReader } from "../capacity/capacity.ts";
import type { Logger } from "../logger.ts";
import type { RequestKind } from "../providers/types.ts";
import type { BreakerScope, Breakers } from "../resilience/breakers.ts";
import { noObserver, type AttemptObserver } from "./attempt-observer.ts";
import { createLatencyEwma, type LatencyEwma } from "./balancing/latency-ewma.ts";
import { routerView } from "./balancing/router-view.ts";
import type { Plan, PlannedTarget, Planner } from "./plan.ts";

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep };

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
  /** The plan the target was chosen from (a stream continues on another of its targets). */
  plan: Plan;
}

export interface RunOptions {
  /** Leaves the winning attempt's scope open for a stream. */
  keepScope?: boolean;
  /** Narrows the plan's targets (a continuation tries only those that can continue). */
  targets?: (plan: Plan) => PlannedTarget[];
  /** The attempts continue a stream that broke on another target (told to the observer). */
  continuation?: boolean;
  /** The request's trace context (a continuation: its stream's), each attempt's parent. */
  trace?: Context;
}

/** An attempt's scope as its call sees it: closing it also ends the target's call in flight. */
export interface TargetScope extends AttemptScope {
  /** Hand it a successful answer's headers: the provider's rate-limit state is learned from them. */
  onRateLimitHeaders(header: HeaderReader): void;
  /** The attempt's trace context (its span; the request's while tracing is off), for the call out to carry on. */
  trace: Context | undefined;
}

/**
 * One attempt at one target. `scope` carries the attempt's signal and deadlines; a call
 * that keeps the scope past its return (a stream) must `close()` it when done.
 */
export type AttemptCall<T> = (target: PlannedTarget, scope: TargetScope) => Promise<T>;

export interface RouterOptions {
  planner: Planner;
  breakers: Breakers;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  retryBudget?: RetryBudgetPolicy;
  /** Told of every attempt (metrics, traces); unset, nobody is. */
  observer?: AttemptObserver;
}

export interface Router {
  /**
   * Tries the plan's targets in order: each behind its breakers and cool-down, with retries
   * (full-jitter backoff, `Retry-After` honoured up to a cap, provider faults within the
   * provider's retry budget), then falls back to the next.
   */
  run<T>(model: string, kind: RequestKind, signal: AbortSignal, call: AttemptCall<T>, options?: RunOptions): Promise<Served<T>>;
  /** A stream that failed after it reached the client still counts, if the provider was at fault. */
  reportStreamFailure(target: PlannedTarget, error: unknown, clientGone: boolean): void;
  planner: Planner;
  breakers: Breakers;
  coolDowns: CoolDowns;
  /** Calls in flight and provider limits, per target and provider. */
  capacity: Capacity;
  /** Each target's smoothed time to first token (the `latency` strategy's measure). */
  latency: LatencyEwma;
  /** The router's clock, which cool-downs are kept in. */
  now(): number;
  /** Retries each provider's budget allows now (each provider called since start). */
  retryBudgets(): Array<{ provider: string; remaining: number }>;
}

/** A target's breakers: the provider's for transport faults, the provider/model's for what the model answers. */
export const breakerScope = (target: PlannedTarget): BreakerScope => ({ provider: target.provider.name, target: target.key });

/** What follows a failed attempt, by its outcome. */
type Step = "retry" | "next" | "larger_context" | "return";

function stepAfter(failure: FailedAttempt, plan: Plan): Step {
  const { error, classified } = failure;
  const said = error instanceof GatewayError ? error.retry : undefined;
  if (
    said !== undefined &&
    (classified.outcome === "provider_fault" || classified.outcome === "rate_limited" || classified.outcome === "client_fault")
  ) {
    // The provider said whether repeating helps; it knows its own failure best.
    if (said) return "retry";
    if (classified.outcome !== "client_fault") return "next";
  }
  switch (classified.outcome) {
    case "client_gone":
    case "ok":
      return "return";
    case "local":
      // No local connection free for this provider: another may have room. A bug is returned.
      return error instanceof GatewayError && error.code === "overloaded" ? "next" : "return";
    case "rate_limited":
      return "retry";
    case "provider_fault":
      // Our own deadline fired: do not wait on the same silent target again.
      return error instanceof AttemptTimeout ? "next" : "retry";
    case "client_fault": {
      if (!(error instanceof GatewayError)) return "return";
      if (error.code === "context_length_exceeded") return "larger_context";
      if (error.code === "content_policy_violation") return plan.fallbackOnContentPolicy ? "next" : "return";
      // Our credentials, or a model this provider does not have: another target may serve it.
      const status = error.upstreamStatus;
      return status === 401 || status === 403 || status === 404 ? "next" : "return";
    }
  }
}

/** What the history (and the all-failed message) says of a failure: never an internal exception's text. */
function described(end: FailedAttempt): string {
  if (end.classified.outcome === "local" && !(end.error instanceof GatewayError)) return "internal error";
  return end.error instanceof GatewayError ? end.error.message : end.classified.outcome;
}

/** The scope a call gets: closing it (a stream that ended) also ends the target's call in flight. */
function targetScope(
  scope: AttemptScope,
  release: () => void,
  learn: (header: HeaderReader) => void,
  trace: Context | undefined,
): TargetScope {
  return {
    ...scope,
    close() {
      scope.close();
      release();
    },
    onRateLimitHeaders: learn,
    trace,
  };
}

/**
 * Runs a target's attempts holding its capacity slot, and gives it back when they are over —
 * except for a served stream, which holds it until its scope is closed or aborted (the client
 * left, a deadline fired).
 */
async function holdingSlot<T>(release: () => void, keepScope: boolean, attempts: Promise<Retried<T>>): Promise<Retried<T>> {
  let retried: Retried<T> | undefined;
  try {
    return (retried = await attempts);
  } finally {
    const stream = keepScope && retried?.end.kind === "served" ? retried.end.scope : undefined;
    if (stream && !stream.signal.aborted) stream.signal.addEventListener("abort", release, { once: true });
    else release();
  }
}

/** The error leaving the router carries the attempts made, like every answer. */
function noted(error: unknown, attempts: number): unknown {
  if (error instanceof GatewayError) error.headers["x-breakwater-attempts"] = String(attempts);
  return error;
}

export function createRouter(options: RouterOptions): Router {
  const { planner, breakers, logger } = options;
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const observer = options.observer ?? noObserver;
  const coolDowns = createCoolDowns();
  const capacity = createCapacity(clock.now);
  const latency = createLatencyEwma();
  const view = routerView({ capacity, coolDowns, breakers, latency, now: clock.now, random });
  for (const { name, policy } of planner.providers()) breakers.ensure(name, policy.breaker);
  const budgets = new Map<string, RetryBudget>();
  const budgetOf = (provider: string) => {
    let budget = budgets.get(provider);
    if (!budget) budgets.set(provider, (budget = createRetryBudget(options.retryBudget ?? defaultRetryBudget)));
    return budget;
  };

  return {
    breakers,
    planner,
    coolDowns,
    capacity,
    latency,
    now: clock.now,
    retryBudgets: () => [...budgets].map(([provider, budget]) => ({ provider, remaining: budget.remaining(clock.now()) })),
    reportStreamFailure(target, error, clientGone) {
      const classified = classifyFailure(error, clientGone);
      if (classified.outcome === "provider_fault") breakers.failure(breakerScope(target), target.policy.breaker, classified);
    },
    async run<T>(
      model: string,
      kind: RequestKind,
      signal: AbortSignal,
      call: AttemptCall<T>,
      options: RunOptions = {},
    ): Promise<Served<T>> {
      const plan = planner.plan(model, kind, view);
      const keepScope = options.keepScope ?? false;
      const targets = options.targets ? options.targets(plan) : plan.targets;
      const history: AttemptRecord[] = [];
      let attempts = 0;
      let retryAfterMs: number | undefined;
      let contextFailure: { error: unknown; window: number } | undefined;
      // Every target out of local connections is our capacity, not the providers': 503 overloaded.
      let overloaded: GatewayError | undefined;
      let otherFailures = false;
      const hint = (ms: number | undefined) => {
        if (ms !== undefined) retryAfterMs = retryAfterMs === undefined ? ms : Math.min(retryAfterMs, ms);
      };

      for (const [fallback, target] of targets.entries()) {
        if (contextFailure && !((target.contextWindow ?? 0) > contextFailure.window)) continue;
        const { retry, timeouts, breaker } = target.policy;
        const scope = breakerScope(target);
        const record = (outcome: string) => history.push({ provider: target.provider.name, model: target.model, outcome });
        const cooling = () => coolDowns.remaining(scope.target ?? scope.provider, clock.now());

        // Waiting is pointless while the breaker is open or the cool-down outlasts the cap: next target at once.
        const openMs = breakers.openFor(scope, breaker);
        if (openMs > 0) {
          record("circuit open");
          hint(openMs);
          otherFailures = true;
          continue;
        }
        const coolMs = cooling();
        if (coolMs > retry.retryAfterCapMs) {
          record(`rate limited, cooling down for ${Math.ceil(coolMs / 1000)} s`);
          hint(coolMs);
          otherFailures = true;
          continue;
        }
        if (coolMs > 0) await clock.sleep(coolMs, signal);
        // At our concurrency limit, or out of what the provider said remains until its reset: next target at once, before any 429.
        const refused = capacity.refusal(target);
        if (refused?.kind === "saturated") {
          record(`at the ${refused.limit}'s concurrency limit (${refused.maxConcurrent})`);
          overloaded ??= new GatewayError("overloaded", {
            message: `Every target for '${model}' is at its concurrency limit.`,
            retryAfterS: 1,
          });
          continue;
        }
        if (refused?.kind === "exhausted") {
          record(`rate limit used up until its reset in ${Math.ceil(refused.retryAfterMs / 1000)} s`);
          hint(refused.retryAfterMs);
          otherFailures = true;
          continue;
        }
        const release = capacity.acquire(target);
        const learn = (header: HeaderReader) => capacity.learn(target, header);

        let tries = 0;
        const attempt = async (): Promise<AttemptEnd<T>> => {
          const observed = observer.start(
            {
              provider: target.provider.name,
              model: target.model,
              kind,
              retry: tries++,
              fallback,
              continuation: options.continuation ?? false,
            },
            options.trace,
          );
          const started = clock.now();
          const end = await guardedAttempt({
            admit: () => breakers.lease(scope, breaker, timeouts.totalMs),
            signal,
            totalMs: timeouts.totalMs,
            totalMessage: `${target.provider.name} did not finish within ${timeouts.totalMs} ms`,
            call: (attemptScope) => {
              capacity.sent(target);
              return call(target, targetScope(attemptScope, release, learn, observed.trace ?? options.trace));
            },
            keepScope,
          });
          if (end.kind === "refused") {
            observed.end("circuit_open");
            return end;
          }
          observed.end(end.classified.outcome, end.kind === "failed" ? end.error : undefined);
          attempts += 1;
          // Time to the first token (a stream) or the answer; a provider fault's time counts too, or a target timing out would look fast.
          if (end.kind === "served" || end.classified.outcome === "provider_fault")
            latency.record(target.key, clock.now() - started, clock.now());
          if (end.kind === "served") return end;
          record(described(end));
          if (end.classified.outcome === "rate_limited") {
            const asked = retryAfterMsOf(end.error);
            if (asked !== undefined) coolDowns.cool(scope.target ?? scope.provider, asked, clock.now());
          }
          return end;
        };
        const retried = await holdingSlot(
          release,
          keepScope,
          withRetries(
            retry,
            {
              signal,
              now: clock.now,
              sleep: clock.sleep,
              random,
              budget: budgetOf(target.provider.name),
              blocked: () => breakers.openFor(scope, breaker) > 0 || cooling() > retry.retryAfterCapMs || capacity.exhaustedFor(target) > 0,
            },
            attempt,
            (failure) => stepAfter(failure, plan) === "retry",
          ),
        );
        const { end } = retried;
        if (end.kind === "served") {
          record("ok");
          return { result: end.result, target, provider: target.provider.name, model: target.model, attempts, history, plan };
        }
        if (end.kind === "refused") {
          record("circuit open");
          hint(end.retryAfterMs);
          otherFailures = true;
          continue;
        }
        if (retried.stopped) record(retried.stopped);
        hint(retryAfterMsOf(end.error));
        const step = stepAfter(end, plan);
        if (end.classified.outcome === "client_gone") throw signal.reason ?? end.error;
        if (step === "return") throw noted(end.error, attempts);
        if (step === "larger_context") contextFailure = { error: end.error, window: target.contextWindow ?? Number.POSITIVE_INFINITY };
        if (end.classified.outcome === "local" && end.error instanceof GatewayError) overloaded = end.error;
        else otherFailures = true;
      }

      if (contextFailure) throw noted(contextFailure.error, attempts);
      if (overloaded && !otherFailures) throw noted(overloaded, attempts);
      const summary = history.map((entry) => `${entry.provider}/${entry.model}: ${entry.outcome}`).join("; ");
      logger.warn("every target failed", { model, attempts, history });
      throw new GatewayError("unavailable", {
        message: `Every target for '${model}' failed: ${summary || "none could be tried"}.`,
        retryAfterS: retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000)),
        headers: { "x-breakwater-attempts": String(attempts) },
      });
    },
  };
}
