import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorResponse, GatewayError } from "../error.ts";

/** The request's ids; a tier that traces sets `traceId` (the W3C trace id) too, and its error bodies carry it. */
type WithRequestId = { Variables: { requestId: string; traceId?: string } };

export interface ErrorHandling {
  /** A tier's own failures that are not bugs (regional: a database node gone → 503). */
  known?: (error: unknown) => GatewayError | undefined;
  /** How a 5xx is logged: the cause goes to the log, never to the client. */
  logFailure(fields: { requestId: string | undefined; traceId: string | undefined; code: string; path: string; error: unknown }): void;
  /** How a request whose client already left is noted (nobody reads its answer). */
  logClientGone?(fields: { requestId: string | undefined; traceId: string | undefined; path: string }): void;
}

/** What a thrown value means for the client: a GatewayError as it is, Hono's 4xx as ours, anything else an internal error. */
function asGatewayError(error: unknown, known: ErrorHandling["known"]): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 413) return new GatewayError("payload_too_large");
    if (error.status >= 400 && error.status < 500) return new GatewayError("invalid_request", { message: error.message || undefined });
  }
  return known?.(error) ?? new GatewayError("internal_error", { cause: error });
}

const respond = <E extends WithRequestId>(c: Context<E>, error: GatewayError): Response =>
  errorResponse(error, c.get("requestId") ?? null, c.get("traceId"));

/** The one error handler of both tiers: every failure leaves in OpenAI's error shape, with the request id (and trace id, when set). */
export function errorHandler<E extends WithRequestId>(handling: ErrorHandling): ErrorHandler<E> {
  return function onError(error, c) {
    const gatewayError = asGatewayError(error, handling.known);
    const requestId = c.get("requestId");
    const traceId = c.get("traceId");
    if (c.req.raw.signal.aborted) {
      handling.logClientGone?.({ requestId, traceId, path: c.req.path });
      return respond(c, gatewayError);
    }
    if (gatewayError.status >= 500)
      handling.logFailure({ requestId, traceId, code: gatewayError.code, path: c.req.path, error: gatewayError.cause ?? gatewayError });
    return respond(c, gatewayError);
  };
}

export function notFound<E extends WithRequestId>(): NotFoundHandler<E> {
  return (c) => respond(c, new GatewayError("not_found", { message: `No route for ${c.req.method} ${c.req.path}.` }));
}
