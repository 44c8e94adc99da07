import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppEnv } from "../context.ts";
import { count } from "../metrics/isolate.ts";

const encoder = new TextEncoder();
const digest = async (text: string): Promise<ArrayBuffer> => await crypto.subtle.digest("SHA-256", encoder.encode(text));

/**
 * Requires METRICS_API_KEY (`Authorization: Bearer`) on the operator endpoints: detailed
 * health and metrics name origins, breaker states and traffic, which outsiders have no
 * business reading. Compared as SHA-256 digests in constant time, so neither the key nor
 * its length leaks through timing. Without METRICS_API_KEY they answer 403.
 */
export const opsAuth = (): MiddlewareHandler<AppEnv> =>
  async function opsAuth(c, next) {
    const expected = c.get("requestContext").settings.metricsKey;
    if (!expected) throw new GatewayError("forbidden", { message: "This endpoint is off: set METRICS_API_KEY to read it." });
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!presented || !crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected))) {
      count("breakwater_edge_auth_failures_total", { reason: "metrics_key" });
      throw new GatewayError("invalid_admin_key", {
        message: "A valid metrics key is required: send it as 'Authorization: Bearer <METRICS_API_KEY>'.",
      });
    }
    await next();
  };
