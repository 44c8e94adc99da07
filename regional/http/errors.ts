import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorHeaders, GatewayError } from "../../shared/error.ts";
import { databaseUnavailable, isConnectionError } from "../db/connection-errors.ts";
import type { Logger } from "../logger.ts";
import type { AppEnv } from "./context.ts";

function asGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 413) return new GatewayError("payload_too_large");
    if (error.status >= 400 && error.status < 500) return new GatewayError("invalid_request", { message: error.message || undefined });
  }
  // A database node gone (refused, reset, shutting down) is a moment's outage, not a bug: 503, try again.
  if (isConnectionError(error)) return databaseUnavailable({ cause: error });
  return new GatewayError("internal_error", { cause: error });
}

function respond(c: Context<AppEnv>, error: GatewayError): Response {
  const requestId = c.get("requestId") ?? null;
  const headers = errorHeaders(error);
  if (requestId) headers["x-request-id"] = requestId;
  return c.body(JSON.stringify(error.toBody(requestId)), error.status as 400, headers);
}

/** The one error handler: every failure leaves in OpenAI's error shape. */
export function errorHandler(logger: Logger) {
  return function onError(error: unknown, c: Context<AppEnv>): Response {
    const gatewayError = asGatewayError(error);
    // The client left: its call was cancelled on purpose; nobody reads this answer.
    if (c.req.raw.signal.aborted) {
      logger.info("client left before the answer", { requestId: c.get("requestId"), path: c.req.path });
      return respond(c, gatewayError);
    }
    if (gatewayError.status >= 500) {
      logger.error("request failed", {
        requestId: c.get("requestId"),
        code: gatewayError.code,
        path: c.req.path,
        error: gatewayError.cause ?? gatewayError,
      });
    }
    return respond(c, gatewayError);
  };
}

export function notFound(c: Context<AppEnv>): Response {
  return respond(c, new GatewayError("not_found", { message: `No route for ${c.req.method} ${c.req.path}.` }));
}
