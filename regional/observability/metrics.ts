import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { defineCapacityCollectors, type CapacitySources } from "./capacity-collectors.ts";
import { defineCollectors, type ScrapeSources } from "./collectors.ts";
import { hotCounter, hotHistogram, type HotCounter, type HotHistogram } from "./hot-metrics.ts";
import { targetMetrics, type TargetMetrics, type UpstreamFamilies } from "./target-metrics.ts";

/** Request and attempt latencies: from a cache-fast answer to a long stream. */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Time to first token: tenths of a second to the first-token deadline. */
const firstTokenBuckets = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60];

/** What the service counts as it works; gauges read at scrape time live in `collectors.ts`. */
export interface Metrics {
  readonly registry: Registry;
  readonly http: {
    requests: HotCounter<"method" | "route" | "status">;
    duration: HotHistogram<"method" | "route" | "status_class">;
  };
  readonly upstream: UpstreamFamilies;
  /** The upstream families' children per provider and model, resolved once. */
  readonly targets: TargetMetrics;
  readonly streams: {
    continuations: Counter<"result">;
    failures: Counter<"provider" | "outcome">;
  };
  readonly breakerTransitions: Counter<"breaker" | "from" | "to">;
  /** Points the scrape-time gauges at the services (breakers, database, audit, usage, GPU); until then they read nothing. */
  watch(sources: ScrapeSources & CapacitySources): void;
}

/**
 * One registry per process (or per test app), never prom-client's global one, so two apps in
 * one process never share or collide on a metric. Node's runtime metrics keep their standard
 * `process_` / `nodejs_` names.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  let sources: (ScrapeSources & CapacitySources) | undefined;
  defineCollectors(registry, () => sources);
  defineCapacityCollectors(registry, () => sources);
  const upstream = upstreamFamilies(registry);
  return {
    registry,
    upstream,
    targets: targetMetrics(upstream),
    http: {
      requests: hotCounter(registry, {
        name: "breakwater_http_requests_total",
        help: "HTTP requests answered, by method, matched route and status code.",
        labelNames: ["method", "route", "status"],
      }),
      duration: hotHistogram(registry, {
        name: "breakwater_http_request_duration_seconds",
        help: "Time from the request's arrival to the last byte of its answer (a stream's end).",
        labelNames: ["method", "route", "status_class"],
        buckets: latencyBuckets,
      }),
    },
    streams: {
      continuations: new Counter({
        name: "breakwater_stream_continuations_total",
        help: "Broken streams Breakwater tried to continue: continued, no_target (none could), failed (the continuation failed to start).",
        labelNames: ["result"],
        registers,
      }),
      failures: new Counter({
        name: "breakwater_stream_failures_total",
        help: "Streams that broke or stalled after content reached the client, by provider and outcome class.",
        labelNames: ["provider", "outcome"],
        registers,
      }),
    },
    breakerTransitions: new Counter({
      name: "breakwater_circuit_breaker_transitions_total",
      help: "Circuit breaker state changes, by breaker (provider or provider/model) and states.",
      labelNames: ["breaker", "from", "to"],
      registers,
    }),
    watch(watched) {
      sources = watched;
    },
  };
}

function upstreamFamilies(registry: Registry): UpstreamFamilies {
  return {
    attempts: hotCounter(registry, {
      name: "breakwater_upstream_attempts_total",
      help: "Upstream attempts, by provider, model and outcome class (circuit_open: refused by a breaker without a call).",
      labelNames: ["provider", "model", "outcome"],
    }),
    duration: hotHistogram(registry, {
      name: "breakwater_upstream_attempt_duration_seconds",
      help: "Duration of an upstream attempt: until the answer, or a stream's first content.",
      labelNames: ["provider", "model", "outcome"],
      buckets: latencyBuckets,
    }),
    retries: hotCounter(registry, {
      name: "breakwater_upstream_retries_total",
      help: "Attempts that repeated an attempt on the same target.",
      labelNames: ["provider", "model"],
    }),
    fallbacks: hotCounter(registry, {
      name: "breakwater_upstream_fallbacks_total",
      help: "Requests that fell back to this target after an earlier one of their route.",
      labelNames: ["provider", "model"],
    }),
    firstToken: hotHistogram(registry, {
      name: "breakwater_upstream_time_to_first_token_seconds",
      help: "Streams: time from the request's arrival to the first content from the target that served it.",
      labelNames: ["provider", "model"],
      buckets: firstTokenBuckets,
    }),
    tokens: hotCounter(registry, {
      name: "breakwater_tokens_total",
      help: "Tokens of served answers as recorded in usage, by direction (input: prompt, output: completion).",
      labelNames: ["provider", "model", "direction"],
    }),
  };
}
