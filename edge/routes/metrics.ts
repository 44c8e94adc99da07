import type { Handler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppEnv } from "../context.ts";
import { aggregatedSeries } from "../metrics/aggregate.ts";
import { exposition } from "../metrics/exposition.ts";
import { isolateMetrics } from "../metrics/isolate.ts";

/**
 * `GET /metrics` (behind METRICS_API_KEY): the whole edge's counts in Prometheus' text format,
 * the aggregator's sums plus what this isolate has not sent yet. When the aggregator cannot be
 * read the scrape fails (503) rather than show one isolate's counts, which would read as a
 * counter reset.
 */
export const metrics = (): Handler<AppEnv> =>
  async function metrics(c) {
    let series: Map<string, number>;
    try {
      series = await aggregatedSeries(c.env.METRICS_AGGREGATOR, isolateMetrics);
    } catch (error) {
      throw new GatewayError("unavailable", { message: "The edge's metrics cannot be read right now.", retryAfterS: 1, cause: error });
    }
    return c.text(exposition(series), 200, { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" });
  };
