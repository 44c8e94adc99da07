import {
  acquire,
  createBreaker,
  force,
  recordFailure,
  recordSuccess,
  releaseProbe,
  type BreakerPolicy,
  type BreakerState,
  type Transition,
} from "../../shared/circuit-breaker.ts";
import { onceLease, type Admission } from "../../shared/resilience/lease.ts";
import type { Classified } from "../../shared/resilience/outcome.ts";
import type { Logger } from "../logger.ts";

export interface BreakerView {
  id: string;
  state: BreakerState;
  policy: BreakerPolicy;
  transitions: number;
}

/**
 * Which breakers guard a call. `provider` takes faults below HTTP (refused, reset, TLS),
 * which hit every model alike; `target` (provider/model) takes what that model answered
 * (5xx, 529, timeouts), so one failing model never blocks its siblings. Without a
 * `target`, the provider's breaker takes every fault (the GPU marketplaces).
 */
export interface BreakerScope {
  provider: string;
  target?: string;
}

export interface Breakers {
  /** Asks every breaker of the scope; admitted, the lease must be settled (it expires after `leaseMs` regardless). */
  lease(scope: BreakerScope, policy: BreakerPolicy, leaseMs: number): Admission;
  /** How long until a breaker of the scope lets a call through (0: it would now), without taking anything. */
  openFor(scope: BreakerScope, policy: BreakerPolicy): number;
  /** A failure seen outside a lease (a stream that broke after it was served). */
  failure(scope: BreakerScope, policy: BreakerPolicy, result: Classified): void;
  force(id: string, mode: "open" | "closed" | null): Transition | undefined;
  list(): BreakerView[];
  has(id: string): boolean;
  /** Makes sure the breaker exists, so operators see it before its first call. */
  ensure(id: string, policy: BreakerPolicy): void;
}

type Entry = { state: BreakerState; policy: BreakerPolicy; transitions: number };

/** Told of every breaker transition (metrics). */
export type OnTransition = (id: string, transition: Transition) => void;

/** The breakers of this process, keyed by provider and by provider/model. Every transition is logged and counted. */
export function createBreakers(logger: Logger, now: () => number = Date.now, onTransition?: OnTransition): Breakers {
  const breakers = new Map<string, Entry>();

  function entry(id: string, policy: BreakerPolicy): Entry {
    let found = breakers.get(id);
    if (!found) {
      found = { state: createBreaker(), policy, transitions: 0 };
      breakers.set(id, found);
    }
    found.policy = policy;
    return found;
  }

  function note(id: string, found: Entry, transition: Transition | undefined): void {
    if (!transition) return;
    found.transitions += 1;
    logger.warn("circuit breaker transition", { breaker: id, ...transition });
    onTransition?.(id, transition);
  }

  /** Who answers for a result: the breaker that takes the fault, the others see the call as sound or say nothing. */
  function settleOne(id: string, found: Entry, lease: number | undefined, verdict: "success" | "failure" | "neutral"): void {
    const at = now();
    if (verdict === "success") note(id, found, recordSuccess(found.state, found.policy, at, lease));
    else if (verdict === "failure") note(id, found, recordFailure(found.state, found.policy, at, lease));
    else releaseProbe(found.state, lease);
  }

  function verdicts(
    scope: BreakerScope,
    result: Classified,
  ): { provider: "success" | "failure" | "neutral"; target: "success" | "failure" | "neutral" } {
    switch (result.outcome) {
      case "ok":
      case "client_fault":
        // It answered (even if the request was at fault): it is healthy.
        return { provider: "success", target: "success" };
      case "provider_fault":
        if (!scope.target || result.transport) return { provider: "failure", target: "neutral" };
        // The model failed over a working connection: the provider's transport is sound.
        return { provider: "success", target: "failure" };
      case "rate_limited":
        return { provider: "success", target: "neutral" };
      case "client_gone":
      case "local":
        return { provider: "neutral", target: "neutral" };
    }
  }

  return {
    lease(scope, policy, leaseMs) {
      const at = now();
      const ids = scope.target ? [scope.provider, scope.target] : [scope.provider];
      const taken: Array<{ id: string; found: Entry; lease: number | undefined }> = [];
      for (const id of ids) {
        const found = entry(id, policy);
        const admission = acquire(found.state, policy, at, leaseMs);
        note(id, found, admission.transition);
        if (!admission.allowed) {
          for (const held of taken) releaseProbe(held.found.state, held.lease);
          return { admitted: false, retryAfterMs: admission.retryAfterMs ?? 0, reason: `${id}: circuit open` };
        }
        taken.push({ id, found, lease: admission.lease });
      }
      return {
        admitted: true,
        lease: onceLease((result) => {
          const verdict = verdicts(scope, result);
          for (const held of taken)
            settleOne(held.id, held.found, held.lease, held.id === scope.provider ? verdict.provider : verdict.target);
        }),
      };
    },
    openFor(scope, policy) {
      const at = now();
      let longest = 0;
      for (const id of [scope.provider, scope.target]) {
        const state = id === undefined ? undefined : breakers.get(id)?.state;
        if (!state || state.forced === "closed") continue;
        const left =
          state.forced === "open" ? policy.coolDownMs : state.status === "open" ? policy.coolDownMs - (at - (state.openedAt ?? at)) : 0;
        longest = Math.max(longest, left);
      }
      return longest;
    },
    failure(scope, policy, result) {
      const verdict = verdicts(scope, result);
      const blamed = [verdict.provider === "failure" ? scope.provider : undefined, verdict.target === "failure" ? scope.target : undefined];
      for (const id of blamed) {
        if (id === undefined) continue;
        const found = entry(id, policy);
        note(id, found, recordFailure(found.state, policy, now()));
      }
    },
    force(id, mode) {
      const found = breakers.get(id);
      if (!found) return undefined;
      const transition = force(found.state, mode, now());
      note(id, found, transition);
      return transition;
    },
    list() {
      return [...breakers].map(([id, found]) => ({ id, state: found.state, policy: found.policy, transitions: found.transitions }));
    },
    has(id) {
      return breakers.has(id);
    },
    ensure(id, policy) {
      entry(id, policy);
    },
  };
}
