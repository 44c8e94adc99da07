import type { MiddlewareHandler } from "hono";
import type { AppEnv, ResponseEnd } from "../http/context.ts";
import { routeOf } from "../http/response-end.ts";
import type { Logger } from "../logger.ts";

const defaultSlowRequestMs = 5_000;

export interface AccessLogOptions {
  /** Longer than this (a stream: until its first byte) is logged as `slow request`, at warn; 0: never. Unset, 5 s. */
  slowRequestMs?: number;
  /** Milliseconds on a monotonic clock; tests inject one. */
  now?: () => number;
}

/** One access-log line's fields; undefined ones are left out of the line. */
type AccessFields = {
  method: string;
  route: string | undefined;
  status: number;
  duration_ms: number;
  tenant: string | undefined;
  provider: string | undefined;
  attempts: number | undefined;
  request_id: string;
  trace_id: string | undefined;
  first_byte_ms: number | undefined;
  stream: ResponseEnd | undefined;
};

const rounded = (ms: number) => Math.round(ms * 10) / 10;

/**
 * One line per request: at info, at debug for health checks and scrapes, at warn (`slow
 * request`) past `slowRequestMs`. A streamed answer is logged when its body ends, with the
 * whole duration and how it ended; it counts as slow by its time to first byte, since a long
 * answer takes long by design.
 */
export const accessLog = (logger: Logger, options: AccessLogOptions = {}): MiddlewareHandler<AppEnv> => {
  const slowRequestMs = options.slowRequestMs ?? defaultSlowRequestMs;
  const now = options.now ?? (() => performance.now());
  const write = (fields: AccessFields, judgedMs: number) => {
    if (slowRequestMs > 0 && judgedMs > slowRequestMs) logger.flat("warn", "slow request", fields);
    else if (fields.route?.startsWith("/health") || fields.route === "/metrics") logger.flat("debug", "request", fields);
    else logger.flat("info", "request", fields);
  };

  return async function accessLog(c, next) {
    const started = now();
    await next();
    const firstByteMs = now() - started;
    const { res } = c;
    const attempts = res.headers.get("x-breakwater-attempts");
    const fields: AccessFields = {
      method: c.req.method,
      route: routeOf(c),
      status: res.status,
      duration_ms: rounded(firstByteMs),
      tenant: c.get("auth")?.tenantId,
      provider: res.headers.get("x-breakwater-provider") ?? undefined,
      attempts: attempts === null ? undefined : Number(attempts),
      request_id: c.get("requestId"),
      trace_id: c.get("traceId"),
      first_byte_ms: undefined,
      stream: undefined,
    };
    if (!res.headers.get("content-type")?.startsWith("text/event-stream")) return write(fields, firstByteMs);
    c.get("onResponseEnd")((end) => {
      fields.first_byte_ms = fields.duration_ms;
      fields.duration_ms = rounded(now() - started);
      fields.stream = end;
      write(fields, firstByteMs);
    });
  };
};
