import { count } from "../metrics.ts";

/** How a cacheable request was answered (X-Cache, plus `coalesced`: a MISS that waited for another request's origin call). */
export type CacheOutcome = "hit-edge" | "hit-redis" | "miss" | "coalesced" | "bypass" | "stale";

export interface CacheStats {
  hits: { edge: number; redis: number };
  misses: number;
  /** Misses answered from an identical request's origin call (counted in misses too). */
  coalesced: number;
  bypass: number;
  stale: number;
  stores: number;
  storeFailures: number;
  l2Errors: number;
}

const stats: CacheStats = {
  hits: { edge: 0, redis: 0 },
  misses: 0,
  coalesced: 0,
  bypass: 0,
  stale: 0,
  stores: 0,
  storeFailures: 0,
  l2Errors: 0,
};

/** This isolate's response-cache counts since it started, as a plain object (for the health endpoint). */
export function cacheStats(): CacheStats {
  return { ...stats, hits: { ...stats.hits } };
}

export function countOutcome(outcome: CacheOutcome): void {
  if (outcome === "hit-edge") stats.hits.edge += 1;
  else if (outcome === "hit-redis") stats.hits.redis += 1;
  else if (outcome === "miss") stats.misses += 1;
  else if (outcome === "coalesced") {
    stats.misses += 1;
    stats.coalesced += 1;
  } else if (outcome === "bypass") stats.bypass += 1;
  else stats.stale += 1;
  count("breakwater_edge_cache_requests_total", { result: outcome });
}

export function countWrite(outcome: "stored" | "failed" | "skipped"): void {
  if (outcome === "stored") stats.stores += 1;
  else if (outcome === "failed") stats.storeFailures += 1;
  count("breakwater_edge_cache_writes_total", { outcome });
}

export function countL2Error(operation: "get" | "set"): void {
  stats.l2Errors += 1;
  count("breakwater_edge_cache_l2_errors_total", { operation });
}
