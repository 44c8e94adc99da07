import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import type { Context as HonoContext, MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppEnv } from "../http/context.ts";
import { routeOf } from "../http/response-end.ts";
import { incomingContext, incomingTraceHeaders, randomTraceId } from "./trace-context.ts";
import { installTraceContext } from "./tracing.ts";

/** Probes and scrapes every few seconds: spans of them would bury the requests worth reading. */
const untraced = (path: string) => path.startsWith("/health") || path === "/metrics";

/**
 * Puts every request in a W3C trace and sets `traceId` for logs and error bodies.
 *
 * With a tracer, a server span (`POST /v1/chat/completions`) continues the incoming
 * `traceparent`, or starts a trace, and the request runs inside it; an SSE answer's span ends
 * with its stream. Without one (tracing off), an incoming `traceparent` is kept with the
 * request (`traceHeaders`), so provider calls carry it on unchanged; a request without one gets
 * a random trace id for its logs only. Nothing runs in a context then.
 */
export const traceRequests = (tracer: Tracer | undefined): MiddlewareHandler<AppEnv> => {
  installTraceContext();
  return async function traceRequests(c, next) {
    const traceparent = c.req.header("traceparent");
    const parent = incomingContext(traceparent, c.req.header("tracestate"));
    if (!tracer || untraced(c.req.path)) {
      const incoming = trace.getSpanContext(parent);
      c.set("traceId", incoming?.traceId ?? randomTraceId());
      c.set("traceHeaders", incomingTraceHeaders(parent));
      await next();
      return;
    }
    const span = tracer.startSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": c.req.method, "url.path": c.req.path, "breakwater.request_id": c.get("requestId") },
      },
      parent,
    );
    c.set("traceId", span.spanContext().traceId);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    }
    settle(span, c);
  };
};

/** Names the span after the route that answered, records the status, and ends it (an SSE answer: when its stream does). */
function settle(span: Span, c: HonoContext<AppEnv>): void {
  const route = routeOf(c) ?? "unmatched";
  span.updateName(`${c.req.method} ${route}`);
  span.setAttribute("http.route", route);
  span.setAttribute("http.response.status_code", c.res.status);
  if (c.error) span.setAttribute("error.type", c.error instanceof GatewayError ? c.error.code : "internal_error");
  if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  c.get("onResponseEnd")(() => span.end());
}
