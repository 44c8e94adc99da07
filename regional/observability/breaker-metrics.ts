import type { OnTransition } from "../resilience/breakers.ts";
import type { Metrics } from "./metrics.ts";

/** Counts each breaker transition; breakers are few (providers and their models), so are their labels. */
export const countTransitions =
  (metrics: Metrics): OnTransition =>
  (id, { from, to }) =>
    metrics.breakerTransitions.inc({ breaker: id, from, to });
