/**
 * A circuit breaker as plain data and pure functions, so the same state can live in a
 * Node process, a Durable Object, a log line or a metric. Time is always passed in.
 *
 * closed → open: within the rolling window, failures reach `failureThreshold` (trip
 * "count") or reach `failureRatio` of at least `minimumCalls` calls (trip "ratio").
 * open → half_open: after `coolDownMs`. half_open admits at most `halfOpenMaxProbes`
 * calls at once; `halfOpenSuccesses` successes close it, one failure reopens it.
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

export interface BreakerState {
  status: BreakerStatus;
  buckets: Bucket[];
  openedAt: number | null;
  probesInFlight: number;
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
}

const bucketCount = 10;

export function createBreaker(): BreakerState {
  return { status: "closed", buckets: [], openedAt: null, probesInFlight: 0, probeSuccesses: 0, forced: null };
}

function move(state: BreakerState, to: BreakerStatus, reason: string, now: number): Transition {
  const from = state.status;
  state.status = to;
  state.probesInFlight = 0;
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

/** Asks to make a call. In half_open this reserves one of the probe slots. */
export function acquire(state: BreakerState, policy: BreakerPolicy, now: number): Admission {
  if (state.forced === "open") return { allowed: false, retryAfterMs: policy.coolDownMs };
  if (state.forced === "closed" || state.status === "closed") return { allowed: true };
  let transition: Transition | undefined;
  if (state.status === "open") {
    const waited = now - (state.openedAt ?? now);
    if (waited < policy.coolDownMs) return { allowed: false, retryAfterMs: policy.coolDownMs - waited };
    transition = move(state, "half_open", "cool-down elapsed", now);
  }
  if (state.probesInFlight >= policy.halfOpenMaxProbes) return { allowed: false, transition, retryAfterMs: 0 };
  state.probesInFlight += 1;
  return { allowed: true, transition };
}

export function recordSuccess(state: BreakerState, policy: BreakerPolicy, now: number): Transition | undefined {
  if (state.status === "half_open") {
    state.probesInFlight = Math.max(0, state.probesInFlight - 1);
    state.probeSuccesses += 1;
    if (state.probeSuccesses >= policy.halfOpenSuccesses) return move(state, "closed", `${state.probeSuccesses} probes succeeded`, now);
    return undefined;
  }
  if (state.status === "closed") currentBucket(state, policy, now)[1] += 1;
  return undefined;
}

export function recordFailure(state: BreakerState, policy: BreakerPolicy, now: number): Transition | undefined {
  if (state.status === "half_open") return move(state, "open", "probe failed", now);
  if (state.status !== "closed") return undefined;
  currentBucket(state, policy, now)[2] += 1;
  if (state.forced === "closed" || !shouldTrip(state, policy)) return undefined;
  const reason = policy.trip === "count" ? `${policy.failureThreshold} failures within ${policy.windowMs / 1000} s` : `failure ratio ≥ ${policy.failureRatio} over ≥ ${policy.minimumCalls} calls`;
  return move(state, "open", reason, now);
}

/** Gives back a half-open probe slot taken by `acquire` for a call that was never made. */
export function releaseProbe(state: BreakerState): void {
  if (state.status === "half_open") state.probesInFlight = Math.max(0, state.probesInFlight - 1);
}

/** An operator's override: hold open, hold closed, or `null` to resume from closed. */
export function force(state: BreakerState, mode: "open" | "closed" | null, now: number): Transition | undefined {
  state.forced = mode;
  if (mode === "open" && state.status !== "open") return move(state, "open", "forced open", now);
  if (mode !== "open" && state.status !== "closed") return move(state, "closed", mode === "closed" ? "forced closed" : "released", now);
  return undefined;
}
