import { Hono } from "hono";
import { GatewayError, errorResponse } from "../shared/error.ts";
import type { AppEnv } from "./context.ts";
import { metricsText } from "./metrics.ts";
import { auth } from "./middleware/auth.ts";
import { cache, cacheLookup } from "./middleware/cache.ts";
import { forward } from "./middleware/forward.ts";
import { opsAuth } from "./middleware/ops-auth.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { readBody } from "./middleware/read-body.ts";
import { requestId } from "./middleware/request-id.ts";
import { detailedHealth, health, ready } from "./routes/health.ts";

/**
 * The edge's Hono app: request ids, health (public and, with METRICS_API_KEY, detailed),
 * metrics (METRICS_API_KEY), and `/v1/*` authenticated, rate
 * limited and forwarded, signed, to the regional origin.
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId());

  // Public: a status word each. Detailed health and metrics take METRICS_API_KEY.
  app.get("/health/live", (c) => c.json({ status: "ok" }));
  app.get("/health/ready", ready());
  app.get("/health", health());
  app.get("/health/detailed", opsAuth(), detailedHealth());
  app.get("/metrics", opsAuth(), (c) =>
    c.text(metricsText(), 200, { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" }),
  );
  app.use("/v1/*", auth(), readBody(), cacheLookup(), rateLimit(), cache());
  app.all("/v1/*", forward());

  app.notFound((c) =>
    errorResponse(new GatewayError("not_found", { message: `No route for ${c.req.method} ${c.req.path}.` }), c.get("requestId")),
  );

  app.onError((error, c) => {
    const requestId = c.get("requestId");
    const gatewayError = error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error });
    if (gatewayError.status >= 500) {
      console.error(
        JSON.stringify({
          msg: "request failed",
          request_id: requestId,
          code: gatewayError.code,
          cause: gatewayError.cause === undefined ? undefined : String(gatewayError.cause),
        }),
      );
    }
    return errorResponse(gatewayError, requestId);
  });

  return app;
}
