import type { KeyRecord } from "../../shared/contract/keys.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import type {
  Bucket,
  BucketLevel,
  BudgetCharge,
  BudgetLevel,
  Correction,
  RateLimiter,
  TakeResult,
} from "../durable-objects/rate-limiter.ts";
import { errorText, log, type RequestIds } from "../log.ts";
import { count } from "../metrics/isolate.ts";
import type { FailureMode, LimitPolicyName } from "../settings.ts";
import type { Quota, QuotaLevel } from "./rate-limit-headers.ts";

const minuteMs = 60_000;
/** A limiter slower than this counts as unreachable. */
const limiterTimeoutMs = 1_000;

/** The RateLimiter objects as one request calls them, with the settings that decide for them. */
export interface LimiterContext extends RequestIds {
  /** One RateLimiter Durable Object per key, tenant and client IP. */
  objects: DurableObjectNamespace<RateLimiter>;
  /** What each policy does when its limiter cannot be reached. */
  onError: Record<LimitPolicyName, FailureMode>;
  authFailuresPerMinute: number;
  waitUntil(promise: Promise<unknown>): void;
}

/** The budget windows a request reserves from, by the limiter that holds them. */
export interface BudgetCharges {
  key: BudgetCharge[];
  tenant: BudgetCharge[];
}

/** What a request really used, once it ended. */
export interface Settlement {
  tokens: number;
  /** By budget id, in the budget's unit (micro-dollars or tokens); a budget left out keeps its reservation. */
  budgets: Record<string, number>;
}

export type Reservation =
  | {
      outcome: "allowed";
      quotas: Quota[];
      levels: QuotaLevel[];
      /** The budget windows of the limiters that answered, after this request's reservation. */
      budgets: BudgetLevel[];
      /** Replaces the reservation with what the call really used, each budget in the window it was reserved in. */
      settle(actual: Settlement): Promise<void>;
    }
  | { outcome: "limited"; quotas: Quota[]; levels: QuotaLevel[]; budgets: BudgetLevel[]; retryAfterMs: number; policy: LimitPolicyName }
  /** A budget window is spent: `budgets` says which (`allowed: false`). */
  | { outcome: "over_budget"; quotas: Quota[]; levels: QuotaLevel[]; budgets: BudgetLevel[] }
  /** A limiter could not be reached and its policy fails closed. */
  | { outcome: "unavailable"; quotas: Quota[]; levels: QuotaLevel[]; budgets: BudgetLevel[]; policy: LimitPolicyName };

interface Scope {
  policy: "key" | "tenant";
  name: string;
  buckets: (Bucket & { cost: number })[];
  budgets: BudgetCharge[];
}

const noBudgets: BudgetCharges = { key: [], tenant: [] };

/**
 * Takes one request, `tokens` (an estimate) and the budget reservations from the key's and
 * the tenant's limiters together, one call to each; when either refuses, what the other took
 * is given back.
 */
export async function reserve(context: LimiterContext, key: KeyRecord, tokens: number, budgets = noBudgets): Promise<Reservation> {
  const scopes: Scope[] = [
    { policy: "key", name: `key:${key.key_id}`, buckets: bucketsFor(key.limits, tokens), budgets: budgets.key },
    { policy: "tenant", name: `tenant:${key.tenant_id}`, buckets: bucketsFor(key.tenant_limits, tokens), budgets: budgets.tenant },
  ];
  const quotas = scopes.flatMap((scope) => scope.buckets.map((bucket) => quotaOf(scope.policy, bucket)));
  const results = await Promise.all(
    scopes.map((scope) => {
      const corrections = takeCorrections(scope.name);
      return call(context, scope.policy, scope.name, (limiter) => limiter.take(scope.buckets, corrections, scope.budgets));
    }),
  );
  const levels = scopes.flatMap((scope, i) => levelsOf(scope.policy, results[i]?.levels ?? []));
  const budgetLevels = results.flatMap((result) => result?.budgets ?? []);

  const refusedBy = scopes.findIndex((_, i) => results[i]?.allowed === false);
  const closedBy = scopes.findIndex((scope, i) => results[i] === null && context.onError[scope.policy] === "closed");
  if (refusedBy >= 0 || closedBy >= 0) {
    // Give back what the scopes that said yes took for a request that will not run.
    scopes.forEach((scope, i) => {
      if (results[i]?.allowed) context.waitUntil(adjust(context, scope, reservedBy(scope, -1)));
    });
    if (budgetLevels.some((level) => !level.allowed)) {
      count("breakwater_edge_rate_limited_total", { policy: "budget" });
      return { outcome: "over_budget", quotas, levels, budgets: budgetLevels };
    }
    if (refusedBy >= 0) {
      const retryAfterMs = Math.max(...results.map((result) => (result && !result.allowed ? result.retryAfterMs : 0)));
      const policy = scopes[refusedBy]!.policy;
      count("breakwater_edge_rate_limited_total", { policy });
      return { outcome: "limited", quotas, levels, budgets: budgetLevels, retryAfterMs, policy };
    }
    return { outcome: "unavailable", quotas, levels, budgets: budgetLevels, policy: scopes[closedBy]!.policy };
  }

  return {
    outcome: "allowed",
    quotas,
    levels,
    budgets: budgetLevels,
    async settle(actual) {
      const settled = scopes.map(async (scope, i) => {
        if (!results[i]) return; // its limiter took nothing
        for (const bucket of scope.buckets) {
          if (bucket.bucket === "tokens" && actual.tokens !== bucket.cost)
            addCorrection(scope.name, { ...bucket, delta: actual.tokens - bucket.cost });
        }
        for (const charge of scope.budgets) {
          const used = actual.budgets[charge.budget];
          if (used !== undefined && used !== charge.cost)
            addCorrection(scope.name, { budget: charge.budget, start: charge.start, resetAt: charge.resetAt, delta: used - charge.cost });
        }
        await flushCorrectionsLater(context, scope);
      });
      await Promise.all(settled);
    },
  };
}

/** A scope's reservation as corrections, times `sign` (-1 gives it back). */
function reservedBy(scope: Scope, sign: number): Correction[] {
  return [
    ...scope.buckets.map((bucket) => ({
      bucket: bucket.bucket,
      limit: bucket.limit,
      periodMs: bucket.periodMs,
      delta: sign * bucket.cost,
    })),
    ...scope.budgets.map((charge) => ({ budget: charge.budget, start: charge.start, resetAt: charge.resetAt, delta: sign * charge.cost })),
  ];
}

export interface AuthFailureCheck {
  /** Whether the client IP is over its allowance of failed authentications. */
  limited: boolean;
  /** Its limiter could not be reached and AUTH_LIMIT_ON_ERROR is `closed`. */
  unavailable: boolean;
  retryAfterMs: number;
  quotas: Quota[];
  levels: QuotaLevel[];
}

/** Counts one failed authentication against the client IP. */
export async function countAuthFailure(context: LimiterContext, ip: string): Promise<AuthFailureCheck> {
  const bucket = authFailureBucket(context.authFailuresPerMinute);
  const result = await call(context, "auth", `ip:${ip}`, (limiter) => limiter.take([bucket]));
  return authCheck(bucket, result, false);
}

/** Whether the client IP may still try a key it has not used here before; counts nothing. */
export async function mayTryKey(context: LimiterContext, ip: string): Promise<AuthFailureCheck> {
  const bucket = authFailureBucket(context.authFailuresPerMinute);
  const result = await call(context, "auth", `ip:${ip}`, (limiter) => limiter.peek([bucket]));
  return authCheck(bucket, result, context.onError.auth === "closed");
}

function authCheck(bucket: Bucket, result: TakeResult | null, closedWhenUnreachable: boolean): AuthFailureCheck {
  return {
    limited: result?.allowed === false,
    unavailable: result === null && closedWhenUnreachable,
    retryAfterMs: result?.retryAfterMs ?? 0,
    quotas: [{ policy: bucket.bucket, limit: bucket.limit, periodMs: bucket.periodMs }],
    levels: levelsOf("auth", result?.levels ?? []),
  };
}

function authFailureBucket(perMinute: number): Bucket & { cost: number } {
  return { bucket: "auth-failures", limit: perMinute, periodMs: minuteMs, cost: 1 };
}

function bucketsFor(limits: KeyRecord["limits"], tokens: number): (Bucket & { cost: number })[] {
  return [
    { bucket: "requests", limit: limits.rpm, periodMs: minuteMs, cost: 1 },
    // A request estimated above the whole budget may still run once the budget is whole;
    // what it really uses is charged when it ends.
    { bucket: "tokens", limit: limits.tpm, periodMs: minuteMs, cost: Math.min(tokens, limits.tpm) },
  ];
}

function quotaOf(policy: string, bucket: Bucket): Quota {
  return {
    policy: `${policy}-${bucket.bucket}`,
    limit: bucket.limit,
    periodMs: bucket.periodMs,
    ...(bucket.bucket === "tokens" ? { unit: "tokens" as const } : {}),
  };
}

function levelsOf(policy: LimitPolicyName, levels: BucketLevel[]): QuotaLevel[] {
  return levels.map((level) => ({
    policy: policy === "auth" ? level.bucket : `${policy}-${level.bucket}`,
    remaining: level.remaining,
    resetMs: level.resetMs,
  }));
}

/*
 * Settled usage rides along with the next `take` this isolate sends the same limiter, so a
 * busy key costs one Durable Object call per request, not two; an idle one gets its
 * corrections on their own after `correctionDelayMs`. Corrections sent with a call that
 * fails are not sent again: whether it arrived cannot be told, and counting twice is no
 * better than not at all.
 */
const correctionDelayMs = 100;
const corrections = new Map<string, Map<string, Correction>>();

function addCorrection(name: string, change: Correction): void {
  let byTarget = corrections.get(name);
  if (!byTarget) corrections.set(name, (byTarget = new Map()));
  // A bucket is one per name; a budget's corrections add up per window.
  const target = "budget" in change ? `budget ${change.budget} ${change.start}` : change.bucket;
  const earlier = byTarget.get(target);
  byTarget.set(target, { ...change, delta: change.delta + (earlier?.delta ?? 0) });
}

/** The corrections waiting for this limiter, handed over (and forgotten here). */
function takeCorrections(name: string): Correction[] {
  const byTarget = corrections.get(name);
  corrections.delete(name);
  return byTarget ? [...byTarget.values()].filter((change) => change.delta !== 0) : [];
}

async function flushCorrectionsLater(context: LimiterContext, scope: Scope): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, correctionDelayMs));
  const changes = takeCorrections(scope.name);
  if (changes.length > 0) await adjust(context, scope, changes);
}

async function adjust(context: LimiterContext, scope: Scope, changes: Correction[]): Promise<void> {
  await call(context, scope.policy, scope.name, (limiter) => limiter.adjust(changes));
}

/**
 * One call to the named limiter, bounded in time. Null when it cannot be reached: the
 * caller applies the policy's failure mode, and the miss is counted and logged here.
 */
async function call<T>(
  context: LimiterContext,
  policy: LimitPolicyName,
  name: string,
  run: (limiter: DurableObjectStub<RateLimiter>) => Promise<T>,
): Promise<T | null> {
  count("breakwater_edge_durable_object_calls_total", { object: "rate_limiter" });
  try {
    return await withTimeout(
      run(context.objects.getByName(name)),
      limiterTimeoutMs,
      () => new Error(`no answer within ${limiterTimeoutMs} ms`),
    );
  } catch (error) {
    const mode = context.onError[policy];
    count("breakwater_edge_limiter_unreachable_total", { policy, mode });
    log("warn", "rate limiter unreachable", context, { policy, mode, error: errorText(error) });
    return null;
  }
}

/**
 * Whether a RateLimiter object answers from here, and how fast: one that holds nothing is
 * asked to peek at no bucket. It stands for the limiters' reachability (the runtime's Durable
 * Objects as this location reaches them), not for any one key's object.
 */
export async function limiterReachability(context: Pick<LimiterContext, "objects">): Promise<{ reachable: boolean; latencyMs: number }> {
  const started = performance.now();
  try {
    await withTimeout(context.objects.getByName("health-probe").peek([]), limiterTimeoutMs, () => new Error("timed out"));
    return { reachable: true, latencyMs: Math.round(performance.now() - started) };
  } catch {
    return { reachable: false, latencyMs: Math.round(performance.now() - started) };
  }
}
