import type { KeyRecord } from "../shared/contract/keys.ts";
import type { ResponseCache } from "./cache/response-cache.ts";
import type { Env } from "./env.ts";
import type { LimiterContext } from "./limits/limiter.ts";
import type { BreakerContext } from "./origins/breakers.ts";
import type { StreamedUpload } from "./origins/streamed-upload.ts";
import type { Settings } from "./settings.ts";
import type { Trace } from "./trace.ts";

/**
 * What every step of a request reads, built once by `requestContext()`: the settings, and
 * the pieces the steps hand on to what they call, so none re-derives them.
 */
export interface RequestContext {
  settings: Settings;
  requestId: string;
  /** The W3C trace id every log line and error body of the request carries. */
  traceId: string;
  /** The trace the request continues (or started), forwarded to the origin as `traceparent`. */
  trace: Trace;
  /** Work that must finish after the response has gone: breaker reports, cache writes, token settling. */
  waitUntil(promise: Promise<unknown>): void;
  /** The origins' breakers under the configured policy, for failover, key lookups and health. */
  breakers: BreakerContext;
  /** The RateLimiter objects under the configured failure modes. */
  limiters: LimiterContext;
}

/** Values middleware puts on the Hono context for later handlers. */
export interface Variables {
  requestId: string;
  /** Set first, for every request (the shared error handler puts it in error bodies). */
  traceId: string;
  trace: Trace;
  requestContext: RequestContext;
  /** The caller's key record, once authenticated. */
  key: KeyRecord;
  /** The JSON request body as read (and, for usage accounting, possibly rewritten) at the edge; null without one or for an upload. */
  body: Uint8Array | null;
  /** An upload (a multipart form or binary media body), streamed to the origin unread; null otherwise. */
  upload: StreamedUpload | null;
  /** The response cache's part in this request, opened before the rate limiter. */
  cache: ResponseCache;
  /** Set by the cache when the answer came without an origin call of this request's own: no tokens are charged. */
  cacheServed: boolean;
  /** The `x-breakwater-budget-crossed` value the forwarded call vouches for, when this request crossed a budget's soft threshold. */
  budgetCrossed: string | undefined;
}

/** The Hono environment of the edge app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
