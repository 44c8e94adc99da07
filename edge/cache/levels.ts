import { errorText, log, type RequestIds } from "../log.ts";
import type { Settings } from "../settings.ts";
import { isFresh, marked, replay, storableHeaders, type Acceptance, type CacheEntry, type EntryMeta, type XCache } from "./entry.ts";
import { l1Get, l1Put, type L1Hit } from "./l1.ts";
import { l2Get, l2Put } from "./l2.ts";
import { memoryGet, memoryPut } from "./memory.ts";
import { countWrite } from "./stats.ts";

/** What a lookup found, and where: an entry from memory or L2, or an L1 hit (body unread). */
export type Found =
  | { level: "memory"; meta: EntryMeta; entry: CacheEntry }
  | { level: "edge"; meta: EntryMeta; hit: L1Hit }
  | { level: "redis"; meta: EntryMeta; entry: CacheEntry };

type Upstash = Settings["upstash"];

/** This isolate's memory, then L1, then L2, each only when the one before has nothing fresh; else the freshest stale one. */
export async function lookup(upstash: Upstash, key: string, accept: Acceptance, ids: RequestIds): Promise<Found | null> {
  const inMemory = memoryGet(key, Date.now());
  const memory: Found | null = inMemory ? { level: "memory", meta: inMemory, entry: inMemory } : null;
  if (memory && isFresh(memory.meta, accept, Date.now())) return memory;
  const hit = await l1Get(key).catch(() => null);
  const edge: Found | null = hit ? { level: "edge", meta: hit.meta, hit } : null;
  if (edge && isFresh(edge.meta, accept, Date.now())) return edge;
  const entry = await l2Get(upstash, key, ids);
  const redis: Found | null = entry ? { level: "redis", meta: entry, entry } : null;
  const newest = [memory, edge, redis].reduce<Found | null>(
    (best, next) => (next && (!best || next.meta.storedAt > best.meta.storedAt) ? next : best),
    null,
  );
  if (newest !== edge) release(edge);
  return newest;
}

/** Writes the entry to every level; counted as stored only when each took it. */
export async function store(upstash: Upstash, key: string, entry: CacheEntry, ids: RequestIds): Promise<void> {
  memoryPut(key, entry);
  const now = Date.now();
  const [l1, l2] = await Promise.allSettled([l1Put(key, entry, now), l2Put(upstash, key, entry, now, ids)]);
  if (l1.status === "rejected") log("warn", "could not store a response in the Cache API", ids, { error: errorText(l1.reason) });
  countWrite(l1.status === "fulfilled" && l2.status === "fulfilled" && l2.value ? "stored" : "failed");
}

/**
 * What was found, as the response. With `refill`, a fresh L1 hit is copied into this
 * isolate's memory and a fresh L2 hit into memory and L1, in the background.
 */
export function served(
  found: Found,
  xCache: XCache,
  refill: { key: string; waitUntil: (promise: Promise<unknown>) => void } | null,
): Response {
  const now = Date.now();
  if (found.level === "edge") {
    if (refill) {
      const copy = found.hit.response.clone();
      const meta = found.meta;
      refill.waitUntil(
        copy.text().then(
          (body) => memoryPut(refill.key, { ...meta, headers: storableHeaders(copy.headers), body }),
          () => {},
        ),
      );
    }
    return marked(found.hit.response, xCache, now - found.meta.storedAt);
  }
  if (refill && found.level === "redis") {
    memoryPut(refill.key, found.entry);
    refill.waitUntil(l1Put(refill.key, found.entry, now).catch(() => countWrite("failed")));
  }
  return replay(found.entry, xCache, now);
}

/** An unused L1 hit's body is cancelled rather than left open. */
export function release(found: Found | null): void {
  if (found?.level === "edge") found.hit.response.body?.cancel().catch(() => {});
}
