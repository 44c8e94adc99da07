import type { OnTransition } from "./breakers.ts";

/** Several listeners on one breaker registry (metrics, the incident history): each is told of every transition. */
export const onTransitions =
  (...hooks: Array<OnTransition | undefined>): OnTransition =>
  (id, transition) => {
    for (const hook of hooks) hook?.(id, transition);
  };
