/** How long waiting may run above target before the queue sheds (CoDel's two knobs). */
export interface CodelPolicy {
  /** Queueing delay a queue may keep for good (5–50 ms). */
  targetMs: number;
  /** How long the delay may stay above target before shedding starts (≈ 100 ms: a round trip's worth). */
  intervalMs: number;
}

/**
 * CoDel's state (Nichols and Jacobson, "Controlling Queue Delay"): a queue that is merely long
 * but drains fast is fine; one whose requests keep waiting longer than `targetMs` for a whole
 * `intervalMs` is a standing queue, and sheds until a request is served within target again or
 * the queue empties. Plain data, time passed in.
 */
export interface Codel {
  /** When the delay, above target since then, will have been so for an interval. */
  aboveUntil: number | undefined;
  shedding: boolean;
}

export const freshCodel = (): Codel => ({ aboveUntil: undefined, shedding: false });

/** Told each request's wait as it leaves the queue (served, or given up after its bound). */
export function observeWait(codel: Codel, waitedMs: number, now: number, policy: CodelPolicy): void {
  if (waitedMs < policy.targetMs) {
    codel.aboveUntil = undefined;
    codel.shedding = false;
  } else if (codel.aboveUntil === undefined) {
    codel.aboveUntil = now + policy.intervalMs;
  } else if (now >= codel.aboveUntil) {
    codel.shedding = true;
  }
}

/** An empty queue has no standing delay. */
export function queueEmptied(codel: Codel): void {
  codel.aboveUntil = undefined;
  codel.shedding = false;
}
