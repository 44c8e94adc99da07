import type { Classified } from "./outcome.ts";

/** A call's permission from its breakers; settling it reports what the call came to. */
export interface Lease {
  /** Reports the attempt's outcome; only the first report counts, later ones are ignored. */
  settle(result: Classified): void;
}

export type Admission = { admitted: true; lease: Lease } | { admitted: false; retryAfterMs: number; reason: string };

/** A lease with nothing behind it: for calls no breaker guards (a breaker that could not be asked). */
export const freeLease: Lease = { settle() {} };

/** Wraps settle so that it runs at most once, whichever path gets there first. */
export function onceLease(settle: (result: Classified) => void): Lease {
  let settled = false;
  return {
    settle(result) {
      if (settled) return;
      settled = true;
      settle(result);
    },
  };
}
