import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { traceSampleRatio } from "../settings.ts";
import { traceOf } from "../trace.ts";

/** `TRACE_SAMPLE_RATIO`, read before the settings are (which then stop at a bad one): a bad one keeps every trace meanwhile. */
function sampleRatio(value: string | undefined): number {
  try {
    return traceSampleRatio(value);
  } catch {
    return 1;
  }
}

/**
 * Continues the client's W3C trace (a valid `traceparent`) or starts one, under a span id of
 * the edge's own, before anything else can fail: error bodies (`trace_id`), log lines and the
 * call to the origin all carry it. A trace it starts is sampled for a share `TRACE_SAMPLE_RATIO`.
 */
export const traceContext = (): MiddlewareHandler<AppEnv> =>
  async function traceContext(c, next) {
    const trace = traceOf(c.req.header("traceparent"), c.req.header("tracestate"), sampleRatio(c.env.TRACE_SAMPLE_RATIO));
    c.set("trace", trace);
    c.set("traceId", trace.traceId);
    await next();
  };
