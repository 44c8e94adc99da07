/**
 * GCRA (generic cell rate algorithm): a limit of `limit` units per `periodMs`, all of which
 * may be spent at once. The state is one number, the theoretical arrival time (TAT): the
 * moment the bucket would be full again.
 *
 * Time is counted in 1/limit ms so that the emission interval (periodMs / limit ms) is the
 * integer `periodMs` and every step is exact: no float drift can let a 101st request through
 * a limit of 100. Those numbers outgrow 2^53, hence bigint.
 */
export interface GcraPolicy {
  /** Units per period, e.g. 100 requests. */
  limit: number;
  periodMs: number;
}

/** The TAT in 1/`scale` ms; `scale` is the limit the TAT was written with. */
export interface GcraState {
  tat: bigint;
  scale: number;
}

export interface GcraDecision {
  allowed: boolean;
  /** The state to store: the new one when allowed, the old one (normalised) when not. */
  state: GcraState;
  /** Units that could still be spent now, after this one. */
  remaining: number;
  /** Milliseconds until the whole quota is available again. */
  resetMs: number;
  /** Milliseconds until `cost` units fit; 0 when allowed. */
  retryAfterMs: number;
}

/** Spends `cost` units at `nowMs` when they fit; never spends part of them. */
export function gcraConsume(state: GcraState | undefined, policy: GcraPolicy, cost: number, nowMs: number): GcraDecision {
  checkPolicy(policy);
  checkUnits(cost, "cost");
  const { limit, periodMs } = scaled(policy);
  const now = BigInt(Math.floor(nowMs)) * limit;
  const tat = rescale(state, policy);
  const start = tat > now ? tat : now;
  const next = start + BigInt(cost) * periodMs;
  const capacity = periodMs * limit;
  if (next - now <= capacity) {
    return { allowed: true, state: { tat: next, scale: policy.limit }, ...levels(next, now, policy), retryAfterMs: 0 };
  }
  return {
    allowed: false,
    state: { tat, scale: policy.limit },
    ...levels(tat, now, policy),
    retryAfterMs: Number(ceilDiv(next - capacity - now, limit)),
  };
}

/**
 * Charges (`delta` > 0) or refunds (`delta` < 0) units whatever the limit says: for usage
 * that already happened, or a reservation given back. A refund never leaves more than the
 * full quota.
 */
export function gcraAdjust(state: GcraState | undefined, policy: GcraPolicy, delta: number, nowMs: number): GcraDecision {
  checkPolicy(policy);
  if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be an integer, got ${delta}`);
  const { limit, periodMs } = scaled(policy);
  const now = BigInt(Math.floor(nowMs)) * limit;
  const tat = rescale(state, policy);
  const start = tat > now ? tat : now;
  let next = start + BigInt(delta) * periodMs;
  if (next < now) next = now;
  return { allowed: true, state: { tat: next, scale: policy.limit }, ...levels(next, now, policy), retryAfterMs: 0 };
}

/** Whether the bucket holds no debt at `nowMs`: its state may then be forgotten. */
export function gcraIsFull(state: GcraState, nowMs: number): boolean {
  return state.tat <= BigInt(Math.floor(nowMs)) * BigInt(state.scale);
}

function levels(tat: bigint, now: bigint, policy: GcraPolicy): { remaining: number; resetMs: number } {
  const { limit, periodMs } = scaled(policy);
  const used = tat > now ? tat - now : 0n;
  const free = periodMs * limit - used;
  return {
    remaining: free <= 0n ? 0 : Number(free / periodMs),
    resetMs: Number(ceilDiv(used, limit)),
  };
}

/** A TAT written under another limit, in this limit's units (rounded up: never a free unit). */
function rescale(state: GcraState | undefined, policy: GcraPolicy): bigint {
  if (!state) return 0n;
  if (state.scale === policy.limit) return state.tat;
  return ceilDiv(state.tat * BigInt(policy.limit), BigInt(state.scale));
}

function scaled(policy: GcraPolicy): { limit: bigint; periodMs: bigint } {
  return { limit: BigInt(policy.limit), periodMs: BigInt(policy.periodMs) };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a <= 0n ? 0n : (a + b - 1n) / b;
}

function checkPolicy(policy: GcraPolicy): void {
  if (!Number.isSafeInteger(policy.limit) || policy.limit <= 0)
    throw new RangeError(`limit must be a positive integer, got ${policy.limit}`);
  if (!Number.isSafeInteger(policy.periodMs) || policy.periodMs <= 0)
    throw new RangeError(`periodMs must be a positive integer, got ${policy.periodMs}`);
}

function checkUnits(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}
