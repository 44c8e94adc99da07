import { Hono } from "hono";
import type { AppEnv } from "./context.ts";
import { accessLog } from "./middleware/access-log.ts";
import { auth } from "./middleware/auth.ts";
import { cache, cacheLookup } from "./middleware/cache.ts";
import { forward } from "./middleware/forward.ts";
import { opsAuth } from "./middleware/ops-auth.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { readBody } from "./middleware/read-body.ts";
import { requestContext } from "./middleware/request-context.ts";
import { traceContext } from "./middleware/trace.ts";
import { errorHandler, notFound } from "../shared/http/errors.ts";
import { requestId } from "../shared/http/request-id.ts";
import { detailedHealth, health, ready } from "./routes/health.ts";
import { metrics } from "./routes/metrics.ts";
import { operatorStatusPage, statusJson, statusPage } from "./routes/status.ts";
import { errorText, log } from "./log.ts";

/**
 * The edge's Hono app: request ids and traces, an access log, health (public and, with
 * METRICS_API_KEY, detailed), metrics (METRICS_API_KEY), the status page (public, and the
 * operator's with METRICS_API_KEY), and `/v1/*` authenticated, rate
 * limited and forwarded, signed, to the regional origin.
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId());
  // Before anything can fail: error bodies and every log line carry the trace id.
  app.use(traceContext());
  app.use(accessLog());

  // Public: a status word each. Detailed health and metrics take METRICS_API_KEY. Liveness
  // reads no settings, so it answers even when one is bad; everything else starts from them.
  app.get("/health/live", (c) => c.json({ status: "ok" }));
  const context = requestContext();
  app.get("/health/ready", context, ready());
  app.get("/health", context, health());
  app.get("/health/detailed", context, opsAuth(), detailedHealth());
  app.get("/metrics", context, opsAuth(), metrics());
  // The status page: public (cached a few seconds at the edge), and the operator's behind METRICS_API_KEY.
  app.get("/status", context, statusPage());
  app.get("/status.json", context, statusJson());
  app.get("/status/operator", context, opsAuth(), operatorStatusPage());
  app.use("/v1/*", context, auth(), readBody(), cacheLookup(), rateLimit(), cache());
  app.all("/v1/*", forward());

  app.notFound(notFound());
  app.onError(
    errorHandler({
      logFailure: ({ requestId, traceId, code, path, error }) =>
        log("error", "request failed", requestId === undefined || traceId === undefined ? null : { requestId, traceId }, {
          code,
          path,
          cause: error === undefined ? undefined : errorText(error),
        }),
    }),
  );

  return app;
}
