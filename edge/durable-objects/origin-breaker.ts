import { DurableObject } from "cloudflare:workers";
import {
  acquire,
  force,
  probesInFlight,
  recordFailure,
  recordSuccess,
  releaseProbe,
  upgradeBreaker,
  type BreakerPolicy,
  type BreakerState,
  type BreakerStatus,
  type Transition,
} from "../../shared/circuit-breaker.ts";

/** What an isolate needs to know to route: the breaker as of the answer. */
export interface BreakerView {
  status: BreakerStatus;
  /** While open: until a probe may go. 0 otherwise. */
  retryAfterMs: number;
  /** Failures in the rolling window (closed), probes running (half-open). */
  failures: number;
  /** Probe slots held by leases that have not expired. */
  probesInFlight: number;
  forced: BreakerState["forced"];
  /** The last change of state, for the health endpoint. */
  lastTransition: (Transition & { at: number }) | null;
}

export interface BreakerAnswer {
  view: BreakerView;
  /** State changes this call caused, for the caller to count. */
  transitions: Transition[];
}

export interface Admission extends BreakerAnswer {
  allowed: boolean;
  /** Set when the call holds a half-open probe slot: the lease to report back with in `record`. */
  lease: number | null;
}

/** What a probe came to: `unused` gives the slot back without a verdict (client gone, never sent). */
export type ProbeResult = "success" | "failure" | "unused";

/** What calls to the origin came to, since the isolate last reported. */
export interface Outcomes {
  /** Failures of ordinary calls (not probes). */
  failures: number;
  /** The result of a probe this isolate was admitted for, with the lease `acquire` gave it. */
  probe?: { lease: number; result: ProbeResult };
}

/**
 * The breaker of one regional origin, one instance per origin name worldwide, so every
 * isolate sees the same picture. The state machine is shared/circuit-breaker.ts; this
 * only keeps its JSON in SQLite (surviving restarts) and decides who may probe. A probe
 * slot is a lease that expires on its own, so a report that never comes (the isolate died,
 * the call was cancelled) cannot keep the origin refused. Each method reads, decides and
 * writes without awaiting, so calls never interleave.
 */
export class OriginBreaker extends DurableObject<unknown> {
  // `unknown` bindings: it reads none, and so need not import `Env`, which imports this class.
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "create table if not exists breaker (id integer primary key check (id = 1), state text not null, last_transition text)",
    );
  }

  /** The breaker as it stands; takes no probe slot. */
  view(policy: BreakerPolicy): BreakerView {
    const { state, lastTransition } = this.load();
    return viewOf(state, policy, lastTransition, Date.now());
  }

  /**
   * Asks to call the origin. In half-open this leases one of the probe slots, if one is
   * free, for `leaseMs` (the call's deadline): past that the slot is free again whatever
   * became of the call.
   */
  acquire(policy: BreakerPolicy, leaseMs: number): Admission {
    const now = Date.now();
    const stored = this.load();
    const admission = acquire(stored.state, policy, now, leaseMs);
    const transitions = admission.transition ? [admission.transition] : [];
    const lease = admission.lease ?? null;
    const lastTransition =
      transitions.length > 0 || lease !== null ? this.store(stored.state, transitions, stored.lastTransition, now) : stored.lastTransition;
    return { allowed: admission.allowed, lease, view: viewOf(stored.state, policy, lastTransition, now), transitions };
  }

  /**
   * Records what calls came to. Only failures of ordinary calls are sent: the trip rule
   * counts failures, so successes while closed change nothing and cost no call here. A
   * probe's result counts only while its lease is still held.
   */
  record(policy: BreakerPolicy, outcomes: Outcomes): BreakerAnswer {
    const now = Date.now();
    const stored = this.load();
    const transitions: Transition[] = [];
    const push = (transition: Transition | undefined): void => {
      if (transition) transitions.push(transition);
    };
    const probe = outcomes.probe;
    if (probe?.result === "success") push(recordSuccess(stored.state, policy, now, probe.lease));
    else if (probe?.result === "failure") push(recordFailure(stored.state, policy, now, probe.lease));
    else if (probe?.result === "unused") releaseProbe(stored.state, probe.lease);
    // A failure seen by an isolate that did not know the breaker had moved on still
    // counts against a closed breaker; an open one is already open.
    for (let i = 0; i < outcomes.failures && stored.state.status === "closed"; i += 1) push(recordFailure(stored.state, policy, now));
    const lastTransition = this.store(stored.state, transitions, stored.lastTransition, now);
    return { view: viewOf(stored.state, policy, lastTransition, now), transitions };
  }

  /** An operator's override: hold open, hold closed, or `null` to resume from closed with a fresh window. */
  force(policy: BreakerPolicy, mode: "open" | "closed" | null): BreakerAnswer {
    const now = Date.now();
    const stored = this.load();
    const transition = force(stored.state, mode, now);
    const transitions = transition ? [transition] : [];
    const lastTransition = this.store(stored.state, transitions, stored.lastTransition, now);
    return { view: viewOf(stored.state, policy, lastTransition, now), transitions };
  }

  private load(): { state: BreakerState; lastTransition: BreakerView["lastTransition"] } {
    const [row] = this.ctx.storage.sql
      .exec<{ state: string; last_transition: string | null }>("select state, last_transition from breaker where id = 1")
      .toArray();
    if (!row) return { state: upgradeBreaker({}), lastTransition: null };
    // A state stored before probe leases existed (a bare count) comes back with no slot held.
    const state = upgradeBreaker(JSON.parse(row.state) as Partial<BreakerState>);
    return { state, lastTransition: row.last_transition ? (JSON.parse(row.last_transition) as Transition & { at: number }) : null };
  }

  private store(
    state: BreakerState,
    transitions: Transition[],
    lastTransition: BreakerView["lastTransition"],
    now: number,
  ): BreakerView["lastTransition"] {
    const last = transitions.at(-1);
    const latest = last ? { ...last, at: now } : lastTransition;
    this.ctx.storage.sql.exec(
      "insert into breaker (id, state, last_transition) values (1, ?, ?) on conflict (id) do update set state = excluded.state, last_transition = excluded.last_transition",
      JSON.stringify(state),
      latest ? JSON.stringify(latest) : null,
    );
    return latest;
  }
}

function viewOf(state: BreakerState, policy: BreakerPolicy, lastTransition: BreakerView["lastTransition"], now: number): BreakerView {
  const open = state.status === "open" || state.forced === "open";
  const retryAfterMs = !open
    ? 0
    : state.forced === "open"
      ? policy.coolDownMs
      : Math.max(0, policy.coolDownMs - (now - (state.openedAt ?? now)));
  const windowStart = now - policy.windowMs;
  const failures = state.buckets.reduce((sum, [start, , failed]) => (start >= windowStart ? sum + failed : sum), 0);
  return { status: state.status, retryAfterMs, failures, probesInFlight: probesInFlight(state, now), forced: state.forced, lastTransition };
}
