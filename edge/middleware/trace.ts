import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import type { Env } from "../env.ts";
import { settingsOf } from "../settings.ts";
import { traceOf } from "../trace.ts";

/** `TRACE_SAMPLE_RATIO` from the settings; while a bad setting stops them (the request's 500 follows), every trace is kept. */
function sampleRatio(env: Env): number {
  try {
    return settingsOf(env).traceSampleRatio;
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
    const trace = traceOf(c.req.header("traceparent"), c.req.header("tracestate"), sampleRatio(c.env));
    c.set("trace", trace);
    c.set("traceId", trace.traceId);
    await next();
  };
