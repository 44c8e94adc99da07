import { context, defaultTextMapSetter, ROOT_CONTEXT, trace, type Context } from "@opentelemetry/api";
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
 * The incoming `traceparent` (and `tracestate`) as they go on to providers while tracing is
 * off; undefined when none came or it was malformed. Carried with the request rather than as
 * the active context: on Node 20 running in an AsyncLocalStorage context slows every promise
 * of the process from then on (measured +10–20 µs a request).
 */
export function incomingTraceHeaders(parent: Context): Record<string, string> | undefined {
  if (trace.getSpanContext(parent) === undefined) return undefined;
  const headers: Record<string, string> = {};
  w3c.inject(parent, headers, defaultTextMapSetter);
  return headers;
}

/**
 * `headers` plus the `traceparent` (and `tracestate`) of the active span — the provider
 * attempt's — or with tracing off the request's `incoming` ones, for a call out. The same
 * object when there is no trace to carry on.
 */
export function withTraceHeaders(headers: Record<string, string>, incoming?: Record<string, string>): Record<string, string> {
  const active = context.active();
  if (trace.getSpanContext(active) === undefined) return incoming ? { ...headers, ...incoming } : headers;
  const traced = { ...headers };
  w3c.inject(active, traced, defaultTextMapSetter);
  return traced;
}

/**
 * A trace id for a request that came with none while tracing is off: its logs and error body
 * still have one to quote. A UUID's hex (122 random bits): Node draws those from a pool of
 * entropy, where `randomBytes` makes a system call per request.
 */
export const randomTraceId = (): string => randomUUID().replaceAll("-", "");
