import { gcraAdjust, gcraConsume, type GcraPolicy, type GcraState } from "../../shared/gcra.ts";
import { sleep as sleepFor } from "../../shared/resilience/deadline.ts";
import { NotSent } from "./not-sent.ts";

/** How an adapter paces: the longest wait it accepts, and the clock (tests inject one). `false`: no pacing (the mocks). */
export type PacingOptions = { maxWaitMs: number; now?: () => number; sleep?: (ms: number, signal: AbortSignal) => Promise<void> } | false;

export interface PacerOptions {
  /** Marketplace name, for messages. */
  name: string;
  /** Each endpoint's published limit, e.g. `{ limit: 1, periodMs: 500 }` for "2 per second, evenly". */
  limits: Record<string, GcraPolicy>;
  /** The longest a call may wait for its slot; a longer wait fails at once as `rate_limited`. Keep it under the call's deadline. */
  maxWaitMs: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface PacerCounts {
  /** Calls that waited for their slot. */
  waited: number;
  /** Calls refused because the wait would have been too long. */
  refused: number;
}

export interface Pacer {
  /**
   * Takes the endpoint's next slot, waiting for it when within `maxWaitMs`; otherwise throws
   * `rate_limited` (a `NotSent`) with the wait as `retryAfterS`. An endpoint without a limit passes.
   */
  take(endpoint: string, signal: AbortSignal): Promise<void>;
  /** The marketplace said 429 anyway (its counter is per IP, maybe shared): no slot before `ms` from now. */
  penalize(endpoint: string, ms: number): void;
  counts(): PacerCounts;
}

/** A pacer for `limits`, or one that lets everything through when pacing is off. */
export function pacerFor(name: string, limits: Record<string, GcraPolicy>, pacing: PacingOptions): Pacer {
  return createPacer({
    name,
    limits: pacing ? limits : {},
    maxWaitMs: pacing ? pacing.maxWaitMs : 0,
    now: pacing ? pacing.now : undefined,
    sleep: pacing ? pacing.sleep : undefined,
  });
}

/** The wait to assume after a 429 that names none: one interval of the endpoint, at least a second. */
export function intervalS(limits: Record<string, GcraPolicy>, endpoint: string): number {
  const policy = limits[endpoint];
  return policy ? Math.max(1, Math.ceil(policy.periodMs / policy.limit / 1000)) : 1;
}

/**
 * Client-side pacing per marketplace endpoint, on the shared GCRA: a slot is reserved before
 * the wait, so concurrent callers queue in order without ever exceeding the limit.
 */
export function createPacer(options: PacerOptions): Pacer {
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? sleepFor;
  const states = new Map<string, GcraState>();
  const counts: PacerCounts = { waited: 0, refused: 0 };

  return {
    async take(endpoint, signal) {
      const policy = options.limits[endpoint];
      if (!policy) return;
      const at = now();
      const decision = gcraConsume(states.get(endpoint), policy, 1, at);
      if (decision.allowed) {
        states.set(endpoint, decision.state);
        return;
      }
      if (decision.retryAfterMs > options.maxWaitMs) {
        counts.refused += 1;
        throw new NotSent("rate_limited", {
          message: `${options.name} allows ${policy.limit} ${endpoint} call(s) per ${policy.periodMs} ms; the next slot is ${decision.retryAfterMs} ms away.`,
          retryAfterS: decision.retryAfterMs / 1000,
        });
      }
      counts.waited += 1;
      // Reserved now, kept even if the caller leaves: a wasted slot never lets two calls through at once.
      states.set(endpoint, gcraAdjust(states.get(endpoint), policy, 1, at).state);
      await pause(decision.retryAfterMs, signal);
    },
    penalize(endpoint, ms) {
      const policy = options.limits[endpoint];
      if (!policy || ms <= 0) return;
      // The TAT at which the endpoint's next slot opens exactly `ms` from now (in the GCRA's 1/limit ms); never moved earlier.
      const limit = BigInt(policy.limit);
      const target = BigInt(Math.ceil(now() + ms + policy.periodMs)) * limit - BigInt(policy.periodMs);
      const current = states.get(endpoint);
      if (!current || current.scale !== policy.limit || current.tat < target) states.set(endpoint, { tat: target, scale: policy.limit });
    },
    counts: () => ({ ...counts }),
  };
}
