import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { log } from "../log.ts";
import { flushTarget } from "../metrics/aggregate.ts";
import { isolateMetrics } from "../metrics/isolate.ts";
import { defaultFlushIntervalMs } from "../settings.ts";
import { watchStreamEnd, type StreamEnd } from "../../shared/http/stream-end.ts";

/** A request slower than this to its first byte is logged as `slow request`, at warn (regional's default). */
const slowRequestMs = 5_000;

/** The routes the edge forwards, as templates: raw paths would make every instance id a label value. */
const routeTemplates: [RegExp, string][] = [
  [/^\/v1\/chat\/completions$/, "/v1/chat/completions"],
  [/^\/v1\/embeddings$/, "/v1/embeddings"],
  [/^\/v1\/responses$/, "/v1/responses"],
  [/^\/v1\/completions$/, "/v1/completions"],
  [/^\/v1\/images\/generations$/, "/v1/images/generations"],
  [/^\/v1\/audio\/(transcriptions|speech)$/, ""],
  [/^\/v1\/moderations$/, "/v1/moderations"],
  [/^\/v1\/models$/, "/v1/models"],
  [/^\/v1\/models\/.+$/, "/v1/models/:id"],
  [/^\/v1\/gpu\/offers$/, "/v1/gpu/offers"],
  [/^\/v1\/gpu\/instances$/, "/v1/gpu/instances"],
  [/^\/v1\/gpu\/instances\/[^/]+$/, "/v1/gpu/instances/:id"],
  [/^\/health(\/live|\/ready|\/detailed)?$/, ""],
  [/^\/metrics$/, "/metrics"],
  [/^\/status(\.json|\/operator)?$/, ""],
];

/** Probes, scrapes and public status loads (pages refresh themselves) are timed but not logged. */
const unlogged = (route: string): boolean =>
  route.startsWith("/health") || route === "/metrics" || route === "/status" || route === "/status.json";

export function routeOf(path: string): string {
  for (const [pattern, template] of routeTemplates) if (pattern.test(path)) return template === "" ? path : template;
  return "unmatched";
}

/** `hit-edge`, `hit-redis`, `miss`, `stale`, `bypass` from `X-Cache`; nothing for an endpoint the cache is not for. */
const cacheOf = (xCache: string | null): string | undefined => xCache?.toLowerCase();

/**
 * One access-log line per request, with regional's fields plus `cache` and `origin`, and its
 * duration in `breakwater_edge_request_duration_seconds`; then the isolate's metric batch is
 * sent on if due (`flushSoon`: from waitUntil, never on the response's path). A stream is
 * logged and timed when its body ends (the chunks pass through one small pull each); other
 * answers when their headers are ready. Probes, scrapes and public status loads are timed but not logged.
 */
export const accessLog = (): MiddlewareHandler<AppEnv> =>
  async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const firstByteMs = performance.now() - started;
    const { res } = c;
    const route = routeOf(c.req.path);
    const finish = (durationMs: number, stream: StreamEnd | undefined) => {
      isolateMetrics.observe(
        "breakwater_edge_request_duration_seconds",
        { route, status_class: `${Math.floor(res.status / 100)}xx` },
        durationMs / 1000,
      );
      if (!unlogged(route)) writeLine(c, route, firstByteMs, durationMs, stream);
      flushMetrics(c);
    };
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) return finish(firstByteMs, undefined);
    c.res = new Response(
      watchStreamEnd(res.body, (end) => finish(performance.now() - started, end)),
      res,
    );
  };

function writeLine(c: Context<AppEnv>, route: string, firstByteMs: number, durationMs: number, stream: StreamEnd | undefined): void {
  const { res } = c;
  const attempts = res.headers.get("x-breakwater-attempts");
  const fields = {
    method: c.req.method,
    route,
    status: res.status,
    duration_ms: rounded(durationMs),
    tenant: c.get("key")?.tenant_id,
    provider: res.headers.get("x-breakwater-provider") ?? undefined,
    attempts: attempts === null ? undefined : Number(attempts),
    cache: cacheOf(res.headers.get("x-cache")),
    origin: res.headers.get("x-breakwater-origin") ?? undefined,
    ...(stream !== undefined && { first_byte_ms: rounded(firstByteMs), stream }),
  };
  const ids = { requestId: c.get("requestId"), traceId: c.get("traceId") };
  if (firstByteMs > slowRequestMs) log("warn", "slow request", ids, fields);
  else log("info", "request", ids, fields);
}

/** Hands the isolate's batch to `flushSoon`, at the request's interval (the default where no context was built: liveness, a bad setting). */
function flushMetrics(c: Context<AppEnv>): void {
  const intervalMs = c.get("requestContext")?.settings.metricsFlushIntervalMs ?? defaultFlushIntervalMs;
  try {
    isolateMetrics.flushSoon(flushTarget(c.env.METRICS_AGGREGATOR, (promise) => c.executionCtx.waitUntil(promise), intervalMs));
  } catch {
    // No execution context to carry it (unit tests calling the app bare): the next request flushes.
  }
}

const rounded = (ms: number) => Math.round(ms * 10) / 10;
