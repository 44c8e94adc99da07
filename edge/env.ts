import type { MetricsAggregator } from "./durable-objects/metrics-aggregator.ts";
import type { OriginBreaker } from "./durable-objects/origin-breaker.ts";
import type { RateLimiter } from "./durable-objects/rate-limiter.ts";

/** The Worker's bindings: `[vars]` and the Durable Objects in wrangler.toml, plus secrets. */
export interface Env {
  /** Base URL of the regional service, e.g. `http://127.0.0.1:8788`; `/v1/*` is forwarded under it. */
  REGIONAL_ORIGIN?: string;
  /** Several named origins in order, with continent preferences (see edge/origins/list.ts); wins over REGIONAL_ORIGIN. */
  REGIONAL_ORIGINS?: string;
  /** Milliseconds to wait for the origin's response headers before answering 504. */
  ORIGIN_TIMEOUT_MS: string;
  /** Shared with the regional tier, which rejects calls not signed with it (a secret, never in wrangler.toml). */
  EDGE_SIGNING_SECRET?: string;
  /** Upstash Redis REST endpoint and token for the shared key-record cache; without them it is skipped. */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Seconds a key record stays in this location's Cache API; 0 turns that cache off. */
  KEY_CACHE_TTL_S?: string;
  /** Failed authentications one client IP may cause per minute before it gets 429. */
  AUTH_FAILURES_PER_MINUTE?: string;
  /** What each limit does when its Durable Object cannot be reached: `open` or `closed`. */
  KEY_LIMIT_ON_ERROR?: string;
  TENANT_LIMIT_ON_ERROR?: string;
  AUTH_LIMIT_ON_ERROR?: string;
  /** Response cache: seconds each kind of answer stays fresh (0: not cached), and the stale-if-error window. */
  CACHE_MODELS_TTL_S?: string;
  CACHE_EMBEDDINGS_TTL_S?: string;
  CACHE_CHAT_TTL_S?: string;
  CACHE_GPU_OFFERS_TTL_S?: string;
  CACHE_STALE_IF_ERROR_S?: string;
  /** Each origin's breaker: failures within the window that open it, and seconds it stays open. */
  ORIGIN_BREAKER_FAILURES?: string;
  ORIGIN_BREAKER_WINDOW_S?: string;
  ORIGIN_BREAKER_OPEN_S?: string;
  /** How deep a request body may nest arrays and objects (400 beyond). */
  MAX_JSON_DEPTH?: string;
  /** The largest upload (a multipart form or binary media body, streamed to the origin) in bytes (413 beyond; default 25 MiB). */
  MAX_UPLOAD_BYTES?: string;
  /** The most completion tokens (`max_tokens` × `n`) one chat request may ask for (and reserves); never more than its key's and tenant's tokens per minute. */
  MAX_TOKENS_CEILING?: string;
  /** USD a request holds back from a budget in money when its price is unknown (a model without prices, a multipart upload); default 0.01. */
  BUDGET_DEFAULT_RESERVATION_USD?: string;
  /** The credential of `/health/detailed` and `/metrics` (a secret, 32+ characters); unset, both answer 403. */
  METRICS_API_KEY?: string;
  /** At most how many milliseconds an isolate's metric counts wait before they are sent to the aggregator (10 to 25000; default 5000). */
  METRICS_FLUSH_INTERVAL_MS?: string;
  /** The share of the traces the edge starts that it marks sampled, 0 to 1 (default 1). */
  TRACE_SAMPLE_RATIO?: string;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  ORIGIN_BREAKER: DurableObjectNamespace<OriginBreaker>;
  METRICS_AGGREGATOR: DurableObjectNamespace<MetricsAggregator>;
}
