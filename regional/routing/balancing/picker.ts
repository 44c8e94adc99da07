/** What a strategy needs of a target: its weight; the rest it asks the view. */
export interface Balanced {
  weight: number;
}

/** The router's live view of its targets, read while ordering them. */
export interface BalancingView<T> {
  /** Could take a call now: breaker not open, not cooling down after a 429, room in its capacity. */
  ready(target: T): boolean;
  /** This instance's calls to the target still running, streams until they end. */
  inFlight(target: T): number;
  /** Smoothed time to first token (or to the answer); 0 while unknown. */
  latencyMs(target: T): number;
  random(): number;
}

/**
 * Orders a route's targets for one request: the first is tried first, the rest are its
 * fallbacks. Every strategy puts ready targets before the others, so the router's skipping
 * of open or cooling targets costs nothing; those stay at the end to be recorded as skipped.
 * A picker belongs to one route and may keep state (a round-robin turn).
 */
export interface Picker {
  order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[];
}
