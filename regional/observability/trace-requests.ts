import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import type { Context as HonoContext, MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppEnv } from "../http/context.ts";
import { routeOf } from "../http/response-end.ts";
import { withinTrace } from "./scoped-context.ts";
import { incomingContext, randomTraceId } from "./trace-context.ts";

/** Probes and scrapes every few seconds: spans of them would bury the requests worth reading. */
const untraced = (path: string) => path.startsWith("/health") || path === "/metrics";

/**
 * The inference API (not GPU) hands its trace context on explicitly; the rest — admin, GPU,
 * internal, a few requests a minute that read and write the database — runs with it active,
 * so its queries' spans find their request's (see scoped-context.ts).
 */
const handsContextOn = (path: string) => path.startsWith("/v1/") && !path.startsWith("/v1/gpu");

/**
 * Puts every request in a W3C trace, sets `traceId` for logs and error bodies, and `trace`,
 * the context its calls out carry on.
 *
 * With a tracer, a server span (`POST /v1/chat/completions`) continues the incoming
 * `traceparent`, or starts a trace; an SSE answer's span ends with its stream. Without one
 * (tracing off), `trace` is the incoming context, so provider calls carry the client's
 * `traceparent` on unchanged; a request without one gets a random trace id for its logs only.
 */
export const traceRequests = (tracer: Tracer | undefined): MiddlewareHandler<AppEnv> => {
  return async function traceRequests(c, next) {
    const parent = incomingContext(c.req.header("traceparent"), c.req.header("tracestate"));
    if (!tracer || untraced(c.req.path)) {
      c.set("traceId", trace.getSpanContext(parent)?.traceId ?? randomTraceId());
      c.set("trace", parent);
      await next();
      return;
    }
    const span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    c.set("traceId", span.spanContext().traceId);
    c.set("trace", active);
    try {
      await (handsContextOn(c.req.path) ? next() : withinTrace(active, next));
    } catch (error) {
      span.setAttributes(requestAttributes(c));
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    }
    // Not sampled: nothing to name, record or end.
    if (span.isRecording()) settle(span, c);
  };
};

const requestAttributes = (c: HonoContext<AppEnv>): Attributes => ({
  "http.request.method": c.req.method,
  "url.path": c.req.path,
  "breakwater.request_id": c.get("requestId"),
});

/** Names the span after the route that answered, records the status, and ends it (an SSE answer: when its stream does). */
function settle(span: Span, c: HonoContext<AppEnv>): void {
  const route = routeOf(c) ?? "unmatched";
  span.updateName(`${c.req.method} ${route}`);
  const attributes = requestAttributes(c);
  attributes["http.route"] = route;
  attributes["http.response.status_code"] = c.res.status;
  if (c.error) attributes["error.type"] = c.error instanceof GatewayError ? c.error.code : "internal_error";
  span.setAttributes(attributes);
  if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  c.get("onResponseEnd")(() => span.end());
}
