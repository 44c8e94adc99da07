import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { Outcome } from "../../shared/resilience/outcome.ts";

/** A streamed answer's trace from its first content to its end. */
export interface StreamTrace {
  /** Runs `call` in the request's trace (a continuation's attempts belong to it, whoever reads the stream). */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** The answer went on on another target. */
  continued(from: string, to: string): void;
  /** The answer ended: `ok`, or the outcome class of the failure that ended it. */
  end(parts: number, outcome: Outcome): void;
}

/**
 * Starts a `breakwater.stream` span under the active (request's) span, to be called where the
 * stream is created: the chunks are pulled later by the server, outside the request's context.
 * Without a tracer it only keeps that context, for a continuation's provider calls.
 */
export function traceStream(tracer: Tracer | undefined): StreamTrace {
  const parent = context.active();
  if (!tracer)
    return { run: (call) => (parent === ROOT_CONTEXT ? call() : context.with(parent, call)), continued: () => {}, end: () => {} };
  const span = tracer.startSpan("breakwater.stream", {}, parent);
  const active = trace.setSpan(parent, span);
  return {
    run: (call) => context.with(active, call),
    continued: (from, to) => span.addEvent("continued", { "breakwater.stream.from": from, "breakwater.stream.to": to }),
    end(parts, outcome) {
      span.setAttributes({ "breakwater.stream.parts": parts, "breakwater.stream.outcome": outcome });
      if (outcome !== "ok" && outcome !== "client_gone") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
    },
  };
}
