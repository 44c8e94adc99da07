import { gcraConsume, type GcraPolicy, type GcraState } from "../../../../shared/gcra.ts";

export interface MockLimits {
  /** Whether a call to `endpoint` fits the marketplace's limit now (it is counted if so). */
  admit(endpoint: string): boolean;
  /** Calls answered 429 so far. */
  refused(): number;
}

/** The marketplace's own rate limiting, as a mock enforces it when asked to; no limits, everything passes. */
export function createMockLimits(limits: Record<string, GcraPolicy> | undefined, now: () => number): MockLimits {
  const states = new Map<string, GcraState>();
  let refused = 0;
  return {
    admit(endpoint) {
      const policy = limits?.[endpoint];
      if (!policy) return true;
      const decision = gcraConsume(states.get(endpoint), policy, 1, now());
      if (!decision.allowed) {
        refused += 1;
        return false;
      }
      states.set(endpoint, decision.state);
      return true;
    },
    refused: () => refused,
  };
}
