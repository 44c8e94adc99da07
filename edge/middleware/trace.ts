import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { traceOf } from "../trace.ts";

/**
 * Continues the client's W3C trace (a valid `traceparent`) or starts one, under a span id of
 * the edge's own, before anything else can fail: error bodies (`trace_id`), log lines and the
 * call to the origin all carry it.
 */
export const traceContext = (): MiddlewareHandler<AppEnv> =>
  async function traceContext(c, next) {
    const trace = traceOf(c.req.header("traceparent"), c.req.header("tracestate"));
    c.set("trace", trace);
    c.set("traceId", trace.traceId);
    await next();
  };
