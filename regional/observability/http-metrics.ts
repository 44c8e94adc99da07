import type { MiddlewareHandler } from "hono";
import { routeOf } from "../http/response-end.ts";
import type { CounterChild, HistogramChild } from "./hot-metrics.ts";
import type { AppEnv } from "../http/context.ts";
import type { Metrics } from "./metrics.ts";

interface Children {
  requests: CounterChild;
  duration: HistogramChild;
}

/**
 * Counts each request by method, route template and status, and times it to its last byte:
 * a stream (`text/event-stream`) is timed until it ends, everything else when the handler returns.
 */
export const httpMetrics = (metrics: Metrics): MiddlewareHandler<AppEnv> => {
  const byMethod = new Map<string, Map<string, Map<number, Children>>>();
  const childrenOf = (method: string, route: string, status: number): Children => {
    let byRoute = byMethod.get(method);
    if (!byRoute) byMethod.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let found = byStatus.get(status);
    if (!found) {
      const code = String(status);
      found = {
        requests: metrics.http.requests.labels({ method, route, status: code }),
        duration: metrics.http.duration.labels({ method, route, status_class: `${code[0] ?? "0"}xx` }),
      };
      byStatus.set(status, found);
    }
    return found;
  };

  return async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    const children = childrenOf(c.req.method, routeOf(c) ?? "unmatched", c.res.status);
    c.get("onResponseEnd")(() => {
      children.requests.inc();
      children.duration.observe((performance.now() - started) / 1000);
    });
  };
};
