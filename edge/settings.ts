import type { BreakerPolicy } from "../shared/circuit-breaker.ts";
import { defaultMaxJsonDepth, maxJsonDepthCeiling } from "../shared/json-depth.ts";
import { defaultMaxUploadBytes, maxUploadBytesCeiling } from "../shared/upload-limit.ts";
import type { Env } from "./env.ts";
import { microsFromDecimal } from "./limits/money.ts";
import { parseOrigins, type Origin } from "./origins/list.ts";

export type FailureMode = "open" | "closed";
export type LimitPolicyName = "key" | "tenant" | "auth";

export interface Settings {
  /** The regional origins in `REGIONAL_ORIGINS` order (or the one `REGIONAL_ORIGIN`). */
  origins: Origin[];
  originTimeoutMs: number;
  signingSecret: string;
  upstash: { url: string; token: string } | null;
  /** Seconds a key record stays in this location's Cache API (0: not at all). */
  keyCacheTtlS: number;
  authFailuresPerMinute: number;
  onLimiterError: Record<LimitPolicyName, FailureMode>;
  cache: CacheSettings;
  /** The policy every origin's breaker runs (defaults: `originBreakerPolicy`). */
  originBreaker: BreakerPolicy;
  /** Request bodies nesting arrays and objects deeper than this get 400 before anything parses them. */
  maxJsonDepth: number;
  /** The largest upload (a multipart form or binary media body, streamed to the origin unread); 413 beyond. */
  maxUploadBytes: number;
  /** The most completion tokens one chat request may reserve (further bounded by each key's and tenant's tokens per minute). */
  maxTokensCeiling: number;
  /** Micro-dollars a request holds back from a budget in money when its price is unknown. */
  budgetDefaultReservationMicros: number;
  /** What `/health/detailed` and `/metrics` take as credential; null: they answer 403. */
  metricsKey: string | null;
  /** At most how long an isolate's metric counts wait before they are sent to the aggregator. */
  metricsFlushIntervalMs: number;
  /** The share of the traces the edge starts that it marks sampled (`TRACE_SAMPLE_RATIO`). */
  traceSampleRatio: number;
}

/** Seconds each kind of answer stays fresh in the response cache (0: not cached at all). */
export interface CacheSettings {
  modelsTtlS: number;
  embeddingsTtlS: number;
  /** Chat answers are cached only when the client opts in, for at most this long. */
  chatTtlS: number;
  gpuOffersTtlS: number;
  /** How long past its freshness an entry may still stand in for a failing origin. */
  staleIfErrorS: number;
}

/** The longest any response-cache lifetime may be set to (a week). */
const maxCacheS = 7 * 24 * 3600;

/** The longest any cached copy of a key record is served after regional answered it. */
export const maxKeyStalenessS = 60;
/** How long an unknown or inactive key stays cached, in each tier. */
export const negativeKeyTtlS = 5;

const defaults = {
  keyCacheTtlS: 5,
  // Enough for any answer most models give in one go; a request may ask for less, never more.
  maxTokensCeiling: 32_768,
  // About what a chat request of a few thousand tokens costs on a mid-priced model.
  budgetDefaultReservationUsd: "0.01",
  authFailuresPerMinute: 20,
  // An unreachable limiter must not take the gateway down with it; every such pass is
  // counted in /metrics and logged. AUTH_LIMIT_ON_ERROR only decides for valid keys:
  // a bad key is refused either way.
  onLimiterError: { key: "open", tenant: "open", auth: "open" },
  cache: { modelsTtlS: 60, embeddingsTtlS: 3600, chatTtlS: 300, gpuOffersTtlS: 5, staleIfErrorS: 600 },
} as const;

/**
 * A scrape every 15 s or more sees an isolate's counts at most this late; the flush's wait
 * rides in a request's waitUntil, which must end within 30 s.
 */
export const defaultFlushIntervalMs = 5_000;

/**
 * A whole origin failing is rare and costly, so a few failures are enough: 3 within 10 s
 * open it for 5 s; then one probe at a time, and two that succeed close it again. The
 * defaults; `ORIGIN_BREAKER_*` vars change the count, window and open time.
 */
export const originBreakerPolicy: BreakerPolicy = {
  trip: "count",
  failureThreshold: 3,
  failureRatio: 0.5,
  minimumCalls: 10,
  windowMs: 10_000,
  coolDownMs: 5_000,
  halfOpenMaxProbes: 1,
  halfOpenSuccesses: 2,
};

const parsed = new WeakMap<Env, Settings>();

/** The edge's settings from its bindings; a bad value throws, naming it (→ 500 for the request). */
export function settingsOf(env: Env): Settings {
  let settings = parsed.get(env);
  if (!settings) {
    settings = parse(env);
    parsed.set(env, settings);
  }
  return settings;
}

function parse(env: Env): Settings {
  const secret = env.EDGE_SIGNING_SECRET ?? "";
  if (secret.length < 32)
    throw new Error("EDGE_SIGNING_SECRET is not set (or shorter than 32 characters): the edge cannot sign origin calls");
  const keyCacheTtlS = integer("KEY_CACHE_TTL_S", env.KEY_CACHE_TTL_S, defaults.keyCacheTtlS, 0, maxKeyStalenessS - 1);
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  return {
    origins: parseOrigins(env.REGIONAL_ORIGINS, env.REGIONAL_ORIGIN),
    originTimeoutMs: integer("ORIGIN_TIMEOUT_MS", env.ORIGIN_TIMEOUT_MS, undefined, 1, Number.MAX_SAFE_INTEGER),
    signingSecret: secret,
    upstash: url && token ? { url, token } : null,
    keyCacheTtlS,
    authFailuresPerMinute: integer("AUTH_FAILURES_PER_MINUTE", env.AUTH_FAILURES_PER_MINUTE, defaults.authFailuresPerMinute, 1, 1_000_000),
    onLimiterError: {
      key: failureMode("KEY_LIMIT_ON_ERROR", env.KEY_LIMIT_ON_ERROR, defaults.onLimiterError.key),
      tenant: failureMode("TENANT_LIMIT_ON_ERROR", env.TENANT_LIMIT_ON_ERROR, defaults.onLimiterError.tenant),
      auth: failureMode("AUTH_LIMIT_ON_ERROR", env.AUTH_LIMIT_ON_ERROR, defaults.onLimiterError.auth),
    },
    originBreaker: {
      ...originBreakerPolicy,
      failureThreshold: integer("ORIGIN_BREAKER_FAILURES", env.ORIGIN_BREAKER_FAILURES, originBreakerPolicy.failureThreshold, 1, 1_000),
      windowMs: 1_000 * integer("ORIGIN_BREAKER_WINDOW_S", env.ORIGIN_BREAKER_WINDOW_S, originBreakerPolicy.windowMs / 1_000, 1, 3_600),
      coolDownMs: 1_000 * integer("ORIGIN_BREAKER_OPEN_S", env.ORIGIN_BREAKER_OPEN_S, originBreakerPolicy.coolDownMs / 1_000, 1, 3_600),
    },
    maxJsonDepth: integer("MAX_JSON_DEPTH", env.MAX_JSON_DEPTH, defaultMaxJsonDepth, 1, maxJsonDepthCeiling),
    maxUploadBytes: integer("MAX_UPLOAD_BYTES", env.MAX_UPLOAD_BYTES, defaultMaxUploadBytes, 1, maxUploadBytesCeiling),
    maxTokensCeiling: integer("MAX_TOKENS_CEILING", env.MAX_TOKENS_CEILING, defaults.maxTokensCeiling, 1, 10_000_000),
    budgetDefaultReservationMicros: usd(
      "BUDGET_DEFAULT_RESERVATION_USD",
      env.BUDGET_DEFAULT_RESERVATION_USD,
      defaults.budgetDefaultReservationUsd,
    ),
    metricsKey: metricsKey(env.METRICS_API_KEY),
    metricsFlushIntervalMs: integer("METRICS_FLUSH_INTERVAL_MS", env.METRICS_FLUSH_INTERVAL_MS, defaultFlushIntervalMs, 10, 25_000),
    traceSampleRatio: traceSampleRatio(env.TRACE_SAMPLE_RATIO),
    cache: {
      modelsTtlS: integer("CACHE_MODELS_TTL_S", env.CACHE_MODELS_TTL_S, defaults.cache.modelsTtlS, 0, maxCacheS),
      embeddingsTtlS: integer("CACHE_EMBEDDINGS_TTL_S", env.CACHE_EMBEDDINGS_TTL_S, defaults.cache.embeddingsTtlS, 0, maxCacheS),
      chatTtlS: integer("CACHE_CHAT_TTL_S", env.CACHE_CHAT_TTL_S, defaults.cache.chatTtlS, 0, maxCacheS),
      gpuOffersTtlS: integer("CACHE_GPU_OFFERS_TTL_S", env.CACHE_GPU_OFFERS_TTL_S, defaults.cache.gpuOffersTtlS, 0, maxCacheS),
      staleIfErrorS: integer("CACHE_STALE_IF_ERROR_S", env.CACHE_STALE_IF_ERROR_S, defaults.cache.staleIfErrorS, 0, maxCacheS),
    },
  };
}

function integer(name: string, value: string | undefined, fallback: number | undefined, min: number, max: number): number {
  if ((value === undefined || value === "") && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(
      `${name} is not ${min === 1 ? "a positive" : "an"} integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ""}: ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** `TRACE_SAMPLE_RATIO`: a share from 0 to 1; unset, 1 (every trace the edge starts is sampled). */
function traceSampleRatio(value: string | undefined): number {
  if (value === undefined || value === "") return 1;
  const ratio = Number(value);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new Error(`TRACE_SAMPLE_RATIO is not a share from 0 to 1: ${JSON.stringify(value)}`);
  return ratio;
}

function usd(name: string, value: string | undefined, fallback: string): number {
  const micros = microsFromDecimal(value === undefined || value === "" ? fallback : value);
  if (micros === null) throw new Error(`${name} is not an amount in USD such as 0.01: ${JSON.stringify(value)}`);
  return micros;
}

function metricsKey(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  if (value.length < 32) throw new Error("METRICS_API_KEY must be at least 32 characters");
  return value;
}

function failureMode(name: string, value: string | undefined, fallback: FailureMode): FailureMode {
  if (value === undefined || value === "") return fallback;
  if (value === "open" || value === "closed") return value;
  throw new Error(`${name} must be "open" or "closed": ${JSON.stringify(value)}`);
}
