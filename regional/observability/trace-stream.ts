import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Tracer } from "@opentelemetry/api";
import type { Outcome } from "../../shared/resilience/outcome.ts";

/** A streamed answer's trace from its first content to its end. */
export interface StreamTrace {
  /** The context a continuation's attempts are parented by: the stream's span, or without a tracer the request's context. */
  context: Context | undefined;
  /** The answer went on on another target. */
  continued(from: string, to: string): void;
  /** The answer ended: `ok`, or the outcome class of the failure that ended it. */
  end(parts: number, outcome: Outcome): void;
}

/**
 * Starts a `breakwater.stream` span under `parent`, the request's trace context. Without a
 * tracer it only keeps that context, for a continuation's provider calls.
 */
export function traceStream(tracer: Tracer | undefined, parent: Context | undefined): StreamTrace {
  if (!tracer) return { context: parent, continued: () => {}, end: () => {} };
  const within = parent ?? ROOT_CONTEXT;
  const span = tracer.startSpan("breakwater.stream", {}, within);
  return {
    context: trace.setSpan(within, span),
    continued: (from, to) => span.addEvent("continued", { "breakwater.stream.from": from, "breakwater.stream.to": to }),
    end(parts, outcome) {
      span.setAttributes({ "breakwater.stream.parts": parts, "breakwater.stream.outcome": outcome });
      if (outcome !== "ok" && outcome !== "client_gone") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
    },
  };
}
