import type { Context, Handler } from "hono";
import type { BreakerView } from "../durable-objects/origin-breaker.ts";
import type { AppEnv } from "../context.ts";
import { limiterReachability } from "../limits/limiter.ts";
import { cacheCounts } from "../metrics/cache-counts.ts";
import { breakerViews } from "../origins/breakers.ts";

type Status = "ok" | "degraded" | "unavailable";

/** `ok` when every breaker is closed, `unavailable` when every one is open, else `degraded`. */
function statusOf(views: (BreakerView | null)[]): Status {
  const states = views.map((view) => view?.status ?? "unknown");
  if (states.every((state) => state === "closed")) return "ok";
  return states.every((state) => state === "open") ? "unavailable" : "degraded";
}

/*
 * The public endpoints answer from a status this isolate keeps for a second: anyone may call
 * them as often as they like, and each call must not cost a Durable Object call per origin.
 * Keyed by the origin list (the isolate's configuration). The value is kept, not the promise:
 * a promise shared across requests would hang the others if the request that made it were
 * cancelled.
 */
const publicTtlMs = 1_000;
const summaries = new Map<string, { at: number; status: Status }>();

async function publicStatus(c: Context<AppEnv>): Promise<Status> {
  const { settings, breakers } = c.get("requestContext");
  const key = settings.origins.map((origin) => origin.name).join(" ");
  const known = summaries.get(key);
  if (known && Date.now() - known.at < publicTtlMs) return known.status;
  const status = statusOf(await breakerViews(breakers, settings.origins));
  summaries.set(key, { at: Date.now(), status });
  return status;
}

/** `GET /health`: `ok`, `degraded` or (503) `unavailable`, and nothing else: no origin, breaker or count. */
export const health = (): Handler<AppEnv> =>
  async function health(c) {
    const status = await publicStatus(c);
    return c.json({ status }, status === "unavailable" ? 503 : 200);
  };

/** `GET /health/ready`: `ready`, `degraded`, or (503) `unavailable` when no origin can take requests. */
export const ready = (): Handler<AppEnv> =>
  async function ready(c) {
    const status = await publicStatus(c);
    return c.json({ status: status === "ok" ? "ready" : status }, status === "unavailable" ? 503 : 200);
  };

/**
 * `GET /health/detailed` (behind METRICS_API_KEY): each regional origin by its configured
 * name with its breaker as the Durable Object holds it now (`unknown` where it cannot be
 * reached); the whole edge's response-cache counts (from the metrics aggregator, null when it
 * cannot be read); and whether the rate limiters answer. Origin URLs are never shown.
 */
export const detailedHealth = (): Handler<AppEnv> =>
  async function detailedHealth(c) {
    const { settings, breakers, limiters } = c.get("requestContext");
    const { origins } = settings;
    const [views, cache, limiter] = await Promise.all([
      breakerViews(breakers, origins),
      cacheCounts(c.env.METRICS_AGGREGATOR),
      limiterReachability(limiters),
    ]);
    const listed = origins.map((origin, i) => {
      const view = views[i];
      if (!view) return { name: origin.name, continents: origin.continents, breaker: "unknown" };
      return {
        name: origin.name,
        continents: origin.continents,
        breaker: view.status,
        retry_after_ms: view.retryAfterMs,
        failures_in_window: view.failures,
        probes_in_flight: view.probesInFlight,
        forced: view.forced,
        last_transition: view.lastTransition,
      };
    });
    const status = statusOf(views);
    return c.json(
      { status, origins: listed, cache, rate_limiter: { reachable: limiter.reachable, latency_ms: limiter.latencyMs } },
      status === "unavailable" ? 503 : 200,
      { "cache-control": "no-store" },
    );
  };
