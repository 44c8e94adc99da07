import { acquire, createBreaker, force, recordFailure, recordSuccess, releaseProbe, type Admission, type BreakerPolicy, type BreakerState, type Transition } from "../../shared/circuit-breaker.ts";
import type { Logger } from "../logger.ts";

export interface BreakerView {
  id: string;
  state: BreakerState;
  policy: BreakerPolicy;
  transitions: number;
}

export interface Breakers {
  acquire(id: string, policy: BreakerPolicy): Admission;
  success(id: string, policy: BreakerPolicy): void;
  failure(id: string, policy: BreakerPolicy): void;
  /** Returns a probe slot for a call that was admitted but not made. */
  release(id: string): void;
  force(id: string, mode: "open" | "closed" | null): Transition | undefined;
  list(): BreakerView[];
  has(id: string): boolean;
  /** Makes sure the breaker exists, so operators see it before its first call. */
  ensure(id: string, policy: BreakerPolicy): void;
}

/**
 * The breakers of this process, one per provider and one per provider/model for models a
 * provider reports as overloaded. Every transition is logged and counted.
 */
export function createBreakers(logger: Logger, now: () => number = Date.now): Breakers {
  const breakers = new Map<string, { state: BreakerState; policy: BreakerPolicy; transitions: number }>();

  function entry(id: string, policy: BreakerPolicy) {
    let found = breakers.get(id);
    if (!found) {
      found = { state: createBreaker(), policy, transitions: 0 };
      breakers.set(id, found);
    }
    found.policy = policy;
    return found;
  }

  function note(id: string, transition: Transition | undefined, counted: { transitions: number }): void {
    if (!transition) return;
    counted.transitions += 1;
    logger.warn("circuit breaker transition", { breaker: id, ...transition });
  }

  return {
    acquire(id, policy) {
      const found = entry(id, policy);
      const admission = acquire(found.state, policy, now());
      note(id, admission.transition, found);
      return admission;
    },
    success(id, policy) {
      const found = entry(id, policy);
      note(id, recordSuccess(found.state, policy, now()), found);
    },
    failure(id, policy) {
      const found = entry(id, policy);
      note(id, recordFailure(found.state, policy, now()), found);
    },
    release(id) {
      const found = breakers.get(id);
      if (found) releaseProbe(found.state);
    },
    force(id, mode) {
      const found = breakers.get(id);
      if (!found) return undefined;
      const transition = force(found.state, mode, now());
      note(id, transition, found);
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
