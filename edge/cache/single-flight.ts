import type { CacheEntry } from "./entry.ts";

/**
 * Identical concurrent misses in one isolate make one origin call: the first request leads,
 * the others wait for the entry its answer becomes. When the leader ends without one (an
 * error, a non-200, a broken stream, or too long a wait), each follower goes to the origin
 * on its own rather than inheriting an error that may have been the leader's alone (its
 * client hung up, its call timed out).
 *
 * Each follower waits on a promise it made itself, which the leader resolves with plain
 * data: a follower never touches the leader's streams, and resumes in its own request.
 */
type Waiter = (entry: CacheEntry | null) => void;

const flights = new Map<string, Waiter[]>();

export type Flight =
  { role: "leader"; finish: (entry: CacheEntry | null) => void } | { role: "follower"; entry: Promise<CacheEntry | null> };

/** Leads the flight for `key`, or follows the one under way (waiting at most `waitMs`). */
export function joinFlight(key: string, waitMs: number): Flight {
  const waiters = flights.get(key);
  if (waiters) {
    let resolve: Waiter = () => {};
    const entry = new Promise<CacheEntry | null>((settle) => (resolve = settle));
    const timer = setTimeout(() => resolve(null), waitMs);
    waiters.push((value) => {
      clearTimeout(timer);
      resolve(value);
    });
    return { role: "follower", entry };
  }
  const own: Waiter[] = [];
  flights.set(key, own);
  let finished = false;
  return {
    role: "leader",
    finish(entry) {
      if (finished) return;
      finished = true;
      if (flights.get(key) === own) flights.delete(key);
      for (const waiter of own) waiter(entry);
    },
  };
}

/** How many requests wait on the flight for `key` now (for health figures and tests). */
export function followersOf(key: string): number {
  return flights.get(key)?.length ?? 0;
}
