import { Hono } from "hono";
import { GatewayError, errorResponse } from "../shared/error.ts";
import type { AppEnv } from "./env.ts";
import { metricsText } from "./metrics.ts";
import { auth } from "./middleware/auth.ts";
import { cache, cacheLookup } from "./middleware/cache.ts";
import { forward } from "./middleware/forward.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { readBody } from "./middleware/read-body.ts";
import { requestId } from "./middleware/request-id.ts";
import { health } from "./routes/health.ts";

/**
 * The edge's Hono app: request ids, health, metrics, and `/v1/*` authenticated, rate
 * limited and forwarded, signed, to the regional origin.
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId());

  app.get("/health/live", (c) => c.json({ status: "ok" }));
  app.get("/health", health());
  app.get("/metrics", (c) => c.text(metricsText(), 200, { "content-type": "text/plain; version=0.0.4" }));
  app.use("/v1/*", auth(), readBody(), cacheLookup(), rateLimit(), cache());
  app.all("/v1/*", forward());

  app.notFound((c) =>
    errorResponse(
      new GatewayError("not_found", { message: `No route for ${c.req.method} ${c.req.path}.` }),
      c.get("requestId"),
    ),
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
