/**
 * Counters of this isolate, served at `/metrics` in Prometheus' text format. Each isolate
 * counts on its own; in production the same events also reach the logs, which aggregate.
 */
const counters = new Map<string, { name: string; labels: Record<string, string>; value: number }>();

const help = {
  breakwater_edge_limiter_unreachable_total: "Rate-limit checks whose Durable Object could not be reached, by policy and what was done.",
  breakwater_edge_auth_failures_total: "Requests refused for a missing, malformed, unknown or inactive API key.",
  breakwater_edge_rate_limited_total: "Requests refused with 429, by the policy that refused them.",
  breakwater_edge_key_lookups_total: "Key records looked up past this location's cache, by where they were found.",
  breakwater_edge_origin_breaker_transitions_total: "Origin breaker state changes this isolate caused, by origin, from and to.",
  breakwater_edge_origin_failovers_total: "Requests moved on past an origin, by origin and why: open (breaker), connect, timeout, broken.",
  breakwater_edge_origin_breaker_unreachable_total:
    "Origin breaker Durable Objects that could not be reached (the origin was then treated as closed).",
  breakwater_edge_cache_requests_total:
    "Cacheable requests by how the response cache answered: hit-edge, hit-redis, miss, coalesced, bypass, stale.",
  breakwater_edge_cache_writes_total:
    "Response-cache entries written, by outcome: stored, failed (a level refused it), skipped (unfinished, too large).",
  breakwater_edge_cache_l2_errors_total: "Upstash calls of the response cache that failed, by operation.",
} as const;

export type MetricName = keyof typeof help;

export function count(name: MetricName, labels: Record<string, string> = {}): void {
  const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
  const counter = counters.get(id);
  if (counter) counter.value += 1;
  else counters.set(id, { name, labels, value: 1 });
}

export function metricsText(): string {
  const lines: string[] = [];
  for (const [name, text] of Object.entries(help)) {
    lines.push(`# HELP ${name} ${text}`, `# TYPE ${name} counter`);
    for (const counter of counters.values()) {
      if (counter.name !== name) continue;
      const labels = Object.entries(counter.labels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, value]) => `${key}="${value.replace(/["\\\n]/g, "_")}"`);
      lines.push(`${name}${labels.length > 0 ? `{${labels.join(",")}}` : ""} ${counter.value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
