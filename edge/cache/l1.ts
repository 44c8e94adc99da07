import { count } from "../metrics/isolate.ts";
import { remainingS, type CacheEntry, type EntryMeta } from "./entry.ts";

/**
 * Level 1: this location's Cache API. An entry is kept under a synthetic GET URL named by
 * its key for its whole life (fresh and stale window), its metadata in a header, so a hit
 * streams the stored body straight back without parsing it.
 */
const base = "https://response-cache.breakwater.internal/";
const metaHeader = "x-bw-cache-meta";
/** Headers the Cache API keeps or adds that are not part of the stored answer. */
const internalHeaders = [metaHeader, "cache-control", "cf-cache-status", "age", "expires", "date", "content-length"];

export interface L1Hit {
  meta: EntryMeta;
  /** The stored answer, body unread: cancel it when not used. */
  response: Response;
}

/** The L1 URL of a cache key. */
export function l1Url(key: string): string {
  return base + key;
}

export async function l1Get(key: string): Promise<L1Hit | null> {
  count("breakwater_edge_cache_api_calls_total", { operation: "match", use: "response_cache" });
  const hit = await caches.default.match(l1Url(key));
  if (!hit) return null;
  const meta = parseMeta(hit.headers.get(metaHeader));
  if (!meta || !hit.body) {
    await hit.body?.cancel();
    return null;
  }
  const headers = new Headers(hit.headers);
  for (const name of internalHeaders) headers.delete(name);
  return { meta, response: new Response(hit.body, { status: 200, headers }) };
}

/** Stores the entry for what is left of its life; nothing when that is already over. */
export async function l1Put(key: string, entry: CacheEntry, now: number): Promise<void> {
  const lifeS = remainingS(entry, now);
  if (lifeS <= 0) return;
  const headers = new Headers(entry.headers);
  const meta: EntryMeta = { v: 1, storedAt: entry.storedAt, ttlS: entry.ttlS, staleS: entry.staleS };
  headers.set(metaHeader, JSON.stringify(meta));
  headers.set("cache-control", `max-age=${lifeS}`);
  count("breakwater_edge_cache_api_calls_total", { operation: "put", use: "response_cache" });
  await caches.default.put(l1Url(key), new Response(entry.body, { status: 200, headers }));
}

function parseMeta(value: string | null): EntryMeta | null {
  if (!value) return null;
  try {
    const meta = JSON.parse(value) as Partial<EntryMeta>;
    if (meta.v !== 1 || typeof meta.storedAt !== "number" || typeof meta.ttlS !== "number" || typeof meta.staleS !== "number") return null;
    return { v: 1, storedAt: meta.storedAt, ttlS: meta.ttlS, staleS: meta.staleS };
  } catch {
    return null;
  }
}
