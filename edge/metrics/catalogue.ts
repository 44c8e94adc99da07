/**
 * Every metric the edge exports: its name, type and help, the one list `/metrics` formats
 * from and `test/observability/metric-names.test.ts` checks `infra/observability/` against.
 * Pure data (no Workers API), so Node tests can read it.
 */

/** Seconds; few buckets, since every one is a row the aggregator keeps per label set. */
export const durationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120] as const;

export const edgeCounters = {
  breakwater_edge_limiter_unreachable_total: "Rate-limit checks whose Durable Object could not be reached, by policy and what was done.",
  breakwater_edge_auth_failures_total: "Requests refused for a missing, malformed, unknown or inactive API key (or a wrong metrics key).",
  breakwater_edge_rate_limited_total: "Requests refused with 429, by the policy that refused them.",
  breakwater_edge_key_lookups_total: "Key records looked up past this location's cache, by where they were found.",
  breakwater_edge_origin_breaker_transitions_total: "Origin breaker state changes the edge caused, by origin, from and to.",
  breakwater_edge_origin_failovers_total: "Requests moved on past an origin, by origin and why: open (breaker), connect, timeout, broken.",
  breakwater_edge_origin_breaker_unreachable_total:
    "Origin breaker Durable Objects that could not be reached (the origin was then treated as closed).",
  breakwater_edge_cache_requests_total:
    "Cacheable requests by how the response cache answered: hit-edge, hit-redis, miss, coalesced, bypass, stale.",
  breakwater_edge_cache_writes_total:
    "Response-cache entries written, by outcome: stored, failed (a level refused it), skipped (unfinished, too large).",
  breakwater_edge_cache_l2_errors_total: "Upstash calls of the response cache that failed, by operation.",
  breakwater_edge_metrics_flushes_total:
    "Batches of counts isolates sent to the metrics aggregator, by result (ok, failed: kept for the next).",
  breakwater_edge_metrics_dropped_total: "Increments an isolate dropped because its unsent batch already held the most series it may.",
  breakwater_edge_durable_object_calls_total:
    "Calls the edge made to Durable Objects, by object: rate_limiter, origin_breaker, metrics_aggregator (what a request costs beyond its own work).",
  breakwater_edge_cache_api_calls_total:
    "Calls to this location's Cache API, by operation (match, put) and use (response_cache, key_records, status).",
} as const;

export const edgeHistograms = {
  breakwater_edge_request_duration_seconds:
    "Time from a request's arrival at the edge to the last byte of its answer (a stream's end), by route and status class.",
  breakwater_edge_origin_attempt_duration_seconds:
    "One call to a regional origin, until its response headers (or its failure), by origin and outcome class.",
} as const;

export type CounterName = keyof typeof edgeCounters;
export type HistogramName = keyof typeof edgeHistograms;

/** Every family name with its type and help, in the order `/metrics` lists them. */
export const edgeMetricFamilies: { name: string; type: "counter" | "histogram"; help: string }[] = [
  ...Object.entries(edgeCounters).map(([name, help]) => ({ name, type: "counter" as const, help })),
  ...Object.entries(edgeHistograms).map(([name, help]) => ({ name, type: "histogram" as const, help })),
];
