import type { MetricsAggregator } from "../durable-objects/metrics-aggregator.ts";
import { aggregatedSeries } from "./aggregate.ts";
import { isolateMetrics } from "./isolate.ts";
import { counterKey } from "./series.ts";

const cacheResults = ["hit-edge", "hit-redis", "miss", "coalesced", "stale", "bypass"] as const;

/** How the response cache answered across the edge, as `/health/detailed` and the operator status page show it. */
export interface CacheCounts {
  hits: { edge: number; redis: number };
  misses: number;
  coalesced: number;
  stale: number;
  bypass: number;
  stores: number;
  store_failures: number;
  l2_errors: number;
}

/** The response cache's answers across the edge, from the aggregated `breakwater_edge_cache_*` counters; null when they cannot be read. */
export async function cacheCounts(objects: DurableObjectNamespace<MetricsAggregator>): Promise<CacheCounts | null> {
  let series: Map<string, number>;
  try {
    series = await aggregatedSeries(objects, isolateMetrics);
  } catch {
    return null;
  }
  const requests = (result: (typeof cacheResults)[number]) =>
    series.get(counterKey("breakwater_edge_cache_requests_total", { result })) ?? 0;
  const writes = (outcome: string) => series.get(counterKey("breakwater_edge_cache_writes_total", { outcome })) ?? 0;
  return {
    hits: { edge: requests("hit-edge"), redis: requests("hit-redis") },
    // Coalesced requests waited for another's origin call: misses that cost no call of their own.
    misses: requests("miss") + requests("coalesced"),
    coalesced: requests("coalesced"),
    stale: requests("stale"),
    bypass: requests("bypass"),
    stores: writes("stored"),
    store_failures: writes("failed"),
    l2_errors:
      (series.get(counterKey("breakwater_edge_cache_l2_errors_total", { operation: "get" })) ?? 0) +
      (series.get(counterKey("breakwater_edge_cache_l2_errors_total", { operation: "set" })) ?? 0),
  };
}
