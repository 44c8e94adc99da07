import { remainingS, type CacheEntry } from "./entry.ts";

/*
 * In front of L1: this isolate's memory. A hot entry is answered with no I/O at all (a
 * Cache API match is a round trip to the location's cache). Bounded by bytes, the least
 * recently used entry leaves first, and none outlives its stale window. Entries are
 * immutable answers under a key that names tenant and request, so there is nothing to
 * invalidate: a refresh (`no-cache`) simply replaces the entry.
 */

/** What one isolate may hold (isolates have 128 MB in all). */
const budgetBytes = 8 * 1024 * 1024;
/** Larger answers stay in L1/L2 only, so one cannot push out many small hot ones. */
const maxEntryBytes = 128 * 1024;

interface Held {
  entry: CacheEntry;
  bytes: number;
}

/** Insertion order is recency: a hit moves its entry to the end. */
const held = new Map<string, Held>();
let usedBytes = 0;

export function memoryGet(key: string, now: number): CacheEntry | null {
  const found = held.get(key);
  if (!found) return null;
  held.delete(key);
  if (remainingS(found.entry, now) <= 0) {
    usedBytes -= found.bytes;
    return null;
  }
  held.set(key, found);
  return found.entry;
}

export function memoryPut(key: string, entry: CacheEntry): void {
  // UTF-16 in memory, plus the headers and bookkeeping.
  const bytes = 2 * entry.body.length + 64 * (entry.headers.length + 4);
  if (bytes > maxEntryBytes) return;
  const previous = held.get(key);
  if (previous) {
    held.delete(key);
    usedBytes -= previous.bytes;
  }
  held.set(key, { entry, bytes });
  usedBytes += bytes;
  for (const [oldest, { bytes: size }] of held) {
    if (usedBytes <= budgetBytes) break;
    held.delete(oldest);
    usedBytes -= size;
  }
}

/** Empties this isolate's tier (tests use it to reach the levels behind it). */
export function clearMemoryTier(): void {
  held.clear();
  usedBytes = 0;
}
