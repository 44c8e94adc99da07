/**
 * A circuit breaker as plain data and pure functions, so the same state can live in a
 * Node process, a Durable Object, a log line or a metric. Time is always passed in.
 *
 * closed → open: within the rolling window, failures reach `failureThreshold` (trip
 * "count") or reach `failureRatio` of at least `minimumCalls` calls (trip "ratio").
 * open → half_open: after `coolDownMs`. half_open admits at most `halfOpenMaxProbes`
 * calls at once; `halfOpenSuccesses` successes close it, one failure reopens it.
 *
 * A half-open probe slot is a lease: `acquire` names it and gives it an expiry (the
 * attempt's own deadline), and only the holder's result counts. A caller that never comes
 * back (aborted, crashed, report lost) cannot keep the slot past that expiry, so a breaker
 * is never stuck half-open with every slot held by calls that no longer exist.
 */
export interface BreakerPolicy {
  trip: "count" | "ratio";
  failureThreshold: number;
  failureRatio: number;
  minimumCalls: number;
  windowMs: number;
  coolDownMs: number;
  halfOpenMaxProbes: number;
  halfOpenSuccesses: number;
}

export const defaultBreakerPolicy: BreakerPolicy = {
  trip: "count",
  failureThreshold: 5,
  failureRatio: 0.6,
  minimumCalls: 10,
  windowMs: 120_000,
  coolDownMs: 60_000,
  halfOpenMaxProbes: 3,
  halfOpenSuccesses: 2,
};

export type BreakerStatus = "closed" | "open" | "half_open";

/** Rolling window in ten buckets: [bucket start ms, successes, failures]. */
type Bucket = [start: number, successes: number, failures: number];

/** A half-open probe slot: [lease id, expires at ms]. */
type ProbeLease = [lease: number, expiresAt: number];

export interface BreakerState {
  status: BreakerStatus;
  buckets: Bucket[];
  openedAt: number | null;
  /** Probe slots held in half_open. */
  probes: ProbeLease[];
  /** The id the next probe lease gets. */
  nextLease: number;
  probeSuccesses: number;
  /** Set by an operator: the breaker stays so until released with `force(state, null)`. */
  forced: "open" | "closed" | null;
}

export interface Transition {
  from: BreakerStatus;
  to: BreakerStatus;
  reason: string;
}

export interface Admission {
  allowed: boolean;
  transition?: Transition;
  /** When refused: how long until the breaker will let a probe through. */
  retryAfterMs?: number;
  /** When admitted as a half-open probe: the lease to settle or release. */
  lease?: number;
}

const bucketCount = 10;

export function createBreaker(): BreakerState {
  return { status: "closed", buckets: [], openedAt: null, probes: [], nextLease: 1, probeSuccesses: 0, forced: null };
}

/** A state stored before probe leases existed (it had only a count) gets the fields it lacks. */
export function upgradeBreaker(stored: Partial<BreakerState> & { probesInFlight?: number }): BreakerState {
  const { probesInFlight: _, ...kept } = stored;
  return { ...createBreaker(), ...kept, probes: Array.isArray(kept.probes) ? kept.probes : [], nextLease: kept.nextLease ?? 1 };
}

/** Probe slots held right now (expired leases do not count). */
export function probesInFlight(state: BreakerState, now: number): number {
  return state.probes.filter(([, expiresAt]) => expiresAt > now).length;
}

function move(state: BreakerState, to: BreakerStatus, reason: string, now: number): Transition {
  const from = state.status;
  state.status = to;
  state.probes = [];
  state.probeSuccesses = 0;
  if (to === "open") state.openedAt = now;
  if (to === "closed") {
    state.openedAt = null;
    state.buckets = [];
  }
  return { from, to, reason };
}

/** The bucket for `now`, dropping buckets that fell out of the window. */
function currentBucket(state: BreakerState, policy: BreakerPolicy, now: number): Bucket {
  const size = Math.max(1, Math.ceil(policy.windowMs / bucketCount));
  const start = now - (now % size);
  const oldest = start - size * (bucketCount - 1);
  while (state.buckets.length > 0 && (state.buckets[0]?.[0] ?? 0) < oldest) state.buckets.shift();
  const last = state.buckets.at(-1);
  if (last && last[0] === start) return last;
  const bucket: Bucket = [start, 0, 0];
  state.buckets.push(bucket);
  return bucket;
}

function shouldTrip(state: BreakerState, policy: BreakerPolicy): boolean {
  let failures = 0;
  let calls = 0;
  for (const [, ok, failed] of state.buckets) {
    failures += failed;
    calls += ok + failed;
  }
  if (policy.trip === "count") return failures >= policy.failureThreshold;
  return calls >= policy.minimumCalls && failures / calls >= policy.failureRatio;
}

/**
 * Asks to make a call. In half_open this leases one of the probe slots for `leaseMs` (the
 * attempt's deadline); the caller settles it with its result or releases it.
 */
export function acquire(state: BreakerState, policy: BreakerPolicy, now: number, leaseMs: number = policy.coolDownMs): Admission {
  if (state.forced === "open") return { allowed: false, retryAfterMs: policy.coolDownMs };
  if (state.forced === "closed" || state.status === "closed") return { allowed: true };
  let transition: Transition | undefined;
  if (state.status === "open") {
    const waited = now - (state.openedAt ?? now);
    if (waited < policy.coolDownMs) return { allowed: false, retryAfterMs: policy.coolDownMs - waited };
    transition = move(state, "half_open", "cool-down elapsed", now);
  }
  state.probes = state.probes.filter(([, expiresAt]) => expiresAt > now);
  if (state.probes.length >= policy.halfOpenMaxProbes) {
    const freed = Math.min(...state.probes.map(([, expiresAt]) => expiresAt));
    return { allowed: false, transition, retryAfterMs: Math.max(0, freed - now) };
  }
  const lease = state.nextLease;
  state.nextLease += 1;
  state.probes.push([lease, now + Math.max(1, leaseMs)]);
  return { allowed: true, transition, lease };
}

/** Takes the lease back if it is still held; whether it was. */
function takeLease(state: BreakerState, lease: number | undefined): boolean {
  const index = lease === undefined ? -1 : state.probes.findIndex(([held]) => held === lease);
  if (index < 0) return false;
  state.probes.splice(index, 1);
  return true;
}

/**
 * A call succeeded. In half_open only a probe still holding its lease counts: a call let
 * through while closed that ends late, or a probe whose lease expired, says nothing new.
 */
export function recordSuccess(state: BreakerState, policy: BreakerPolicy, now: number, lease?: number): Transition | undefined {
  if (state.status === "half_open") {
    if (!takeLease(state, lease)) return undefined;
    state.probeSuccesses += 1;
    if (state.probeSuccesses >= policy.halfOpenSuccesses) return move(state, "closed", `${state.probeSuccesses} probes succeeded`, now);
    return undefined;
  }
  if (state.status === "closed") currentBucket(state, policy, now)[1] += 1;
  return undefined;
}

/** A call failed; in half_open, as for successes, only a probe holding its lease counts. */
export function recordFailure(state: BreakerState, policy: BreakerPolicy, now: number, lease?: number): Transition | undefined {
  if (state.status === "half_open") return takeLease(state, lease) ? move(state, "open", "probe failed", now) : undefined;
  if (state.status !== "closed") return undefined;
  currentBucket(state, policy, now)[2] += 1;
  if (state.forced === "closed" || !shouldTrip(state, policy)) return undefined;
  const reason =
    policy.trip === "count"
      ? `${policy.failureThreshold} failures within ${policy.windowMs / 1000} s`
      : `failure ratio ≥ ${policy.failureRatio} over ≥ ${policy.minimumCalls} calls`;
  return move(state, "open", reason, now);
}

/** Gives back a probe slot whose call says nothing about the upstream (never made, aborted, refused by us). */
export function releaseProbe(state: BreakerState, lease: number | undefined): void {
  takeLease(state, lease);
}

/**
 * An operator's override: hold open, hold closed, or `null` to resume from closed with a
 * fresh window (failures counted while forced must not reopen it at the next failure).
 */
export function force(state: BreakerState, mode: "open" | "closed" | null, now: number): Transition | undefined {
  state.forced = mode;
  if (mode === "open" && state.status !== "open") return move(state, "open", "forced open", now);
  if (mode !== "open" && state.status !== "closed") return move(state, "closed", mode === "closed" ? "forced closed" : "released", now);
  if (mode === null) state.buckets = [];
  return undefined;
}
