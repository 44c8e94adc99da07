import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Tracer } from "@opentelemetry/api";
import { GatewayError } from "../../shared/error.ts";
import type { AttemptObserver } from "../routing/attempt-observer.ts";

/**
 * A client span per upstream attempt (`chat openai/gpt-4o`), child of the request's span; its
 * context goes with the call, so the provider request carries its `traceparent`. A stream's attempt
 * ends at its first content (the `first_token` event); the rest is the `breakwater.stream` span.
 */
export function tracingObserver(tracer: Tracer): AttemptObserver {
  return {
    start(info, parent = ROOT_CONTEXT) {
      const span = tracer.startSpan(`${info.kind} ${info.provider}/${info.model}`, { kind: SpanKind.CLIENT }, parent);
      const context = trace.setSpan(parent, span);
      // Not sampled: its context still goes on (the provider sees the trace), nothing else is worth the time.
      if (!span.isRecording()) return { trace: context, end: () => {} };
      return {
        trace: context,
        end(result, error) {
          // Set at the end, in one call: what the attempt was and how it ended.
          const attributes: Attributes = {
            "gen_ai.operation.name": info.kind,
            "gen_ai.provider.name": info.provider,
            "gen_ai.request.model": info.model,
            "breakwater.attempt.retry": info.retry,
            "breakwater.attempt.fallback": info.fallback,
            "breakwater.attempt.continuation": info.continuation,
            "breakwater.attempt.outcome": result,
          };
          if (error instanceof GatewayError && error.upstreamStatus !== undefined)
            attributes["http.response.status_code"] = error.upstreamStatus;
          if (result !== "ok") {
            // The gateway's error code where there is one; else the outcome class (a breaker's refusal: circuit_open).
            const type = error instanceof GatewayError ? error.code : result;
            attributes["error.type"] = type;
            span.setStatus({ code: SpanStatusCode.ERROR, message: type });
          }
          span.setAttributes(attributes);
          span.end();
        },
      };
    },
  };
}

/** Marks the first content of a stream on the attempt's span: its offset from the span's start is the time to first token. */
export function markFirstToken(attempt: Context | undefined): void {
  if (attempt !== undefined) trace.getSpan(attempt)?.addEvent("first_token");
}
