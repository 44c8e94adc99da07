import type { Handler } from "hono";
import { cacheStats } from "../cache/stats.ts";
import type { AppEnv } from "../env.ts";
import { breakerViews } from "../origins/breakers.ts";
import { settingsOf } from "../settings.ts";

/**
 * `GET /health`: each regional origin with its breaker as the Durable Object holds it
 * (`unknown` where it cannot be reached), and this isolate's response-cache counts.
 * `ok` when every breaker is closed, 503 `unavailable` when every one is open, else
 * `degraded`. URLs are left out: they are internal.
 */
export const health = (): Handler<AppEnv> =>
  async function health(c) {
    const { origins } = settingsOf(c.env);
    const views = await breakerViews({ env: c.env, requestId: c.get("requestId"), waitUntil: (promise) => c.executionCtx.waitUntil(promise) }, origins);
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
    const open = listed.filter((origin) => origin.breaker === "open").length;
    const closed = listed.filter((origin) => origin.breaker === "closed").length;
    const status = closed === listed.length ? "ok" : open === listed.length ? "unavailable" : "degraded";
    return c.json({ status, origins: listed, cache: cacheStats() }, status === "unavailable" ? 503 : 200);
  };
