/**
 * Upstreams that answered 429 with a `Retry-After`: each is left alone until then, without
 * being called broken. Bounded: the oldest entries go first when full.
 */
export interface CoolDowns {
  /** Cools `key` until `now + ms` (never shortens a longer cool-down already set). */
  cool(key: string, ms: number, now: number): void;
  /** Milliseconds left, 0 when not cooling. */
  remaining(key: string, now: number): number;
  /** Ends a key's cool-down now (an operator's reset). */
  clear(key: string): void;
  /** Every key still cooling, with its end. */
  list(now: number): Array<{ key: string; until: number }>;
}

export function createCoolDowns(maxEntries = 10_000): CoolDowns {
  const until = new Map<string, number>();
  return {
    cool(key, ms, now) {
      const end = now + ms;
      if ((until.get(key) ?? 0) >= end) return;
      until.delete(key);
      if (until.size >= maxEntries) until.delete(until.keys().next().value as string);
      until.set(key, end);
    },
    remaining(key, now) {
      const end = until.get(key);
      if (end === undefined) return 0;
      if (end > now) return end - now;
      until.delete(key);
      return 0;
    },
    clear(key) {
      until.delete(key);
    },
    list(now) {
      return [...until].filter(([, end]) => end > now).map(([key, end]) => ({ key, until: end }));
    },
  };
}
