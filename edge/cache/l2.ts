import { responseCacheRedisKey } from "../../shared/cache-key.ts";
import { errorText, log, type RequestIds } from "../log.ts";
import type { Settings } from "../settings.ts";
import { upstashClient } from "../upstash.ts";
import { remainingS, type CacheEntry } from "./entry.ts";
import { countL2Error } from "./stats.ts";

/**
 * Level 2: Upstash Redis, shared by every location. Entries expire there with the end of
 * their stale window. Upstash is a cache: when it fails the request goes on without it.
 */
export async function l2Get(upstash: Settings["upstash"], key: string, ids: RequestIds): Promise<CacheEntry | null> {
  if (!upstash) return null;
  try {
    const value = await upstashClient(upstash).get<unknown>(responseCacheRedisKey(key));
    return value === null ? null : parseEntry(value);
  } catch (error) {
    countL2Error("get");
    log("warn", "Upstash response-cache lookup failed", ids, { error: errorText(error) });
    return null;
  }
}

/** Stores the entry; false when Upstash refused it (true also when there is no Upstash or nothing left to store). */
export async function l2Put(upstash: Settings["upstash"], key: string, entry: CacheEntry, now: number, ids: RequestIds): Promise<boolean> {
  const lifeS = remainingS(entry, now);
  if (!upstash || lifeS <= 0) return true;
  try {
    await upstashClient(upstash).set(responseCacheRedisKey(key), entry, { ex: lifeS });
    return true;
  } catch (error) {
    countL2Error("set");
    log("warn", "could not store a response in Upstash", ids, { error: errorText(error) });
    return false;
  }
}

function parseEntry(value: unknown): CacheEntry | null {
  try {
    const data: unknown = typeof value === "string" ? JSON.parse(value) : value;
    if (typeof data !== "object" || data === null) return null;
    const { v, storedAt, ttlS, staleS, headers, body } = data as Record<string, unknown>;
    if (v !== 1 || typeof storedAt !== "number" || typeof ttlS !== "number" || typeof staleS !== "number" || typeof body !== "string")
      return null;
    if (
      !Array.isArray(headers) ||
      !headers.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === "string"))
    )
      return null;
    return { v: 1, storedAt, ttlS, staleS, headers: headers as [string, string][], body };
  } catch {
    return null;
  }
}
