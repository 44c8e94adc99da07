import { count } from "../metrics/isolate.ts";

/** How a cacheable request was answered (X-Cache, plus `coalesced`: a MISS that waited for another request's origin call). */
export type CacheOutcome = "hit-edge" | "hit-redis" | "miss" | "coalesced" | "bypass" | "stale";

/*
 * The response cache's counts go to the edge's metrics, summed across isolates by the
 * aggregator; `/health/detailed` reads them from there.
 */

export function countOutcome(outcome: CacheOutcome): void {
  count("breakwater_edge_cache_requests_total", { result: outcome });
}

export function countWrite(outcome: "stored" | "failed" | "skipped"): void {
  count("breakwater_edge_cache_writes_total", { outcome });
}

export function countL2Error(operation: "get" | "set"): void {
  count("breakwater_edge_cache_l2_errors_total", { operation });
}
