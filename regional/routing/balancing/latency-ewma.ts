/** How much one new sample moves the average. */
const sampleWeight = 0.3;
/** A target not measured for this long looks half as slow, so one passed over is tried again in time. */
const idleHalfLifeMs = 10_000;

export interface LatencyEwma {
  /** One attempt's time to first token (a stream) or to its answer, ending at `now`. */
  record(key: string, ms: number, now: number): void;
  /** The smoothed latency, decayed by the time since its last sample; 0 while unknown. */
  estimate(key: string, now: number): number;
  /** Every target measured, as last sampled. */
  list(): Array<{ key: string; ms: number; at: number }>;
}

/**
 * Exponentially weighted latency per target. Decaying while idle matters: a target the
 * `latency` strategy stopped choosing is never measured again, and would otherwise look slow
 * forever after it recovered. Keys are configured targets, so the map stays small.
 */
export function createLatencyEwma(): LatencyEwma {
  const entries = new Map<string, { ms: number; at: number }>();
  const decayed = (entry: { ms: number; at: number }, now: number) =>
    now <= entry.at ? entry.ms : entry.ms * 2 ** (-(now - entry.at) / idleHalfLifeMs);
  return {
    record(key, ms, now) {
      const entry = entries.get(key);
      if (entry) {
        entry.ms = decayed(entry, now) * (1 - sampleWeight) + ms * sampleWeight;
        entry.at = now;
        return;
      }
      entries.set(key, { ms, at: now });
    },
    estimate(key, now) {
      const entry = entries.get(key);
      return entry ? decayed(entry, now) : 0;
    },
    list: () => [...entries].map(([key, entry]) => ({ key, ...entry })),
  };
}
