import type { Lsn } from "./lsn.ts";

interface Sample {
  at: number;
  lsn: Lsn;
}

/** How far behind the primary a replica is, by time and by bytes. */
export interface Lag {
  ms: number;
  bytes: number;
}

/**
 * The primary's WAL position as the health check saw it over time, to tell how long a
 * replica has been missing WAL the primary had. Unlike `now() - pg_last_xact_replay_timestamp()`
 * this reads 0 for an idle replica that has replayed everything, however old its last
 * transaction, and it needs no clock agreement between servers. Resolution is the check
 * interval; the figure errs low by at most one interval.
 */
export interface PrimaryHistory {
  record(at: number, lsn: Lsn): void;
  /** The latest position seen, or null before the primary ever answered. */
  latest(): Lsn | null;
  lagOf(replay: Lsn, now: number): Lag;
}

export function createPrimaryHistory(windowMs: number): PrimaryHistory {
  // Oldest first; a position is kept with the time it was first seen, so a quiet primary keeps one sample.
  const samples: Sample[] = [];
  return {
    record(at, lsn) {
      const last = samples.at(-1);
      if (!last || lsn > last.lsn) samples.push({ at, lsn });
      // Older samples only matter to replicas already far past any lag bound.
      while (samples.length > 1 && (samples[0]?.at ?? at) < at - windowMs) samples.shift();
    },
    latest: () => samples.at(-1)?.lsn ?? null,
    lagOf(replay, now) {
      const last = samples.at(-1);
      if (!last || replay >= last.lsn) return { ms: 0, bytes: 0 };
      const firstMissed = samples.find((sample) => sample.lsn > replay) ?? last;
      return { ms: Math.max(0, now - firstMissed.at), bytes: Number(last.lsn - replay) };
    },
  };
}
