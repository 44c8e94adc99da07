import { defaultTextMapSetter, ROOT_CONTEXT, trace as api, type Context } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { randomUUID } from "node:crypto";

/** W3C trace context (`traceparent`, `tracestate`) only: no baggage, whose entries clients could fill with anything. */
const w3c = new W3CTraceContextPropagator();

/** The trace context a request came with (the edge forwards the client's, or its own); ROOT when none or malformed. */
export function incomingContext(traceparent: string | undefined, tracestate: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  const carrier = { traceparent, tracestate };
  return w3c.extract(ROOT_CONTEXT, carrier, { get: (from, key) => from[key as keyof typeof from], keys: () => Object.keys(carrier) });
}

/**
 * `headers` plus the `traceparent` (and `tracestate`) of `trace` — the provider attempt's span,
 * or with tracing off the request's incoming context, carried on unchanged — for a call out.
 * The same object when there is no trace to carry on. Handed, not taken from an active
 * context: see scoped-context.ts.
 */
export function withTraceHeaders(headers: Record<string, string>, trace: Context | undefined): Record<string, string> {
  if (trace === undefined || api.getSpanContext(trace) === undefined) return headers;
  const traced = { ...headers };
  w3c.inject(trace, traced, defaultTextMapSetter);
  return traced;
}

/**
 * A trace id for a request that came with none while tracing is off: its logs and error body
 * still have one to quote. A UUID's hex (122 random bits): Node draws those from a pool of
 * entropy, where `randomBytes` makes a system call per request.
 */
export const randomTraceId = (): string => randomUUID().replaceAll("-", "");
