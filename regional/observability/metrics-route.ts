import { Hono, type Handler } from "hono";
import { notFound } from "../../shared/http/errors.ts";
import type { AppEnv } from "../http/context.ts";
import type { Metrics } from "./metrics.ts";

/** The registry in Prometheus' text format; gauges read their sources now (`collectors.ts`). */
export const scrape =
  (metrics: Metrics): Handler<AppEnv> =>
  async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });

/**
 * `GET /metrics` alone, without a key, for the listener on METRICS_PORT: reachable only from
 * the private network the scraper runs in. Nothing else is served there.
 */
export function metricsApp(metrics: Metrics): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.notFound(notFound());
  app.get("/metrics", scrape(metrics));
  return app;
}
