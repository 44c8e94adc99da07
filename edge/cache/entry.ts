/** How long an entry lives and when it was made: enough to tell fresh from stale. */
export interface EntryMeta {
  v: 1;
  /** Epoch ms when the origin's answer arrived. */
  storedAt: number;
  ttlS: number;
  /** How long past `ttlS` it may still stand in for a failing origin. */
  staleS: number;
}

/** A stored 200 answer: its end-to-end headers as regional sent them and its whole body. */
export interface CacheEntry extends EntryMeta {
  headers: [string, string][];
  body: string;
}

export type XCache = "HIT-EDGE" | "HIT-REDIS" | "MISS" | "BYPASS" | "STALE";

/** What the client accepts: its own `max-age` and `stale-if-error`, when it sent them. */
export interface Acceptance {
  maxAgeS: number | undefined;
  staleIfErrorS: number | undefined;
}

export function ageMs(meta: EntryMeta, now: number): number {
  return Math.max(0, now - meta.storedAt);
}

export function isFresh(meta: EntryMeta, accept: Acceptance, now: number): boolean {
  return ageMs(meta, now) < Math.min(meta.ttlS, accept.maxAgeS ?? Infinity) * 1000;
}

/** Within the stale window (the entry's, shortened by the client's `stale-if-error`). */
export function isUsableStale(meta: EntryMeta, accept: Acceptance, now: number): boolean {
  return ageMs(meta, now) < (meta.ttlS + Math.min(meta.staleS, accept.staleIfErrorS ?? Infinity)) * 1000;
}

/** Seconds from now until the entry is of no use at all, not even stale. */
export function remainingS(meta: EntryMeta, now: number): number {
  return Math.floor((meta.storedAt + (meta.ttlS + meta.staleS) * 1000 - now) / 1000);
}

/**
 * Headers that describe this one exchange, not the answer: they are not stored (the replay
 * gets its own request id, rate-limit headers, length and X-Cache/Age).
 */
const exchangeHeaders = new Set([
  "age",
  "cache-control",
  "connection",
  "content-encoding",
  "content-length",
  "date",
  "expires",
  "keep-alive",
  "ratelimit",
  "ratelimit-policy",
  "retry-after",
  "set-cookie",
  "transfer-encoding",
  // The cache key already says which requests share an answer.
  "vary",
  "x-cache",
  "x-request-id",
]);

export function storableHeaders(headers: Headers): [string, string][] {
  const kept: [string, string][] = [];
  for (const [name, value] of headers) if (!exchangeHeaders.has(name) && !name.startsWith("cf-")) kept.push([name, value]);
  return kept;
}

/** The entry as a response to this request, e.g. a stream stored whole replayed as SSE. */
export function replay(entry: CacheEntry, xCache: XCache, now: number): Response {
  const response = new Response(entry.body, { status: 200, headers: entry.headers });
  return marked(response, xCache, ageMs(entry, now));
}

/**
 * Sets X-Cache and Age (whole seconds): the entry's age for an answer from the cache; for one
 * straight from the origin (undefined) the origin's own Age, else 0. A response whose headers
 * cannot change is copied.
 */
export function marked(response: Response, xCache: XCache, ageInMs: number | undefined): Response {
  const age = ageInMs === undefined ? (response.headers.get("age") ?? "0") : String(Math.floor(ageInMs / 1000));
  try {
    response.headers.set("x-cache", xCache);
    response.headers.set("age", age);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("x-cache", xCache);
    copy.headers.set("age", age);
    return copy;
  }
}
