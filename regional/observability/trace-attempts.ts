import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Tracer } from "@opentelemetry/api";
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
      const span = tracer.startSpan(
        `${info.kind} ${info.provider}/${info.model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "gen_ai.operation.name": info.kind,
            "gen_ai.provider.name": info.provider,
            "gen_ai.request.model": info.model,
            "breakwater.attempt.retry": info.retry,
            "breakwater.attempt.fallback": info.fallback,
            "breakwater.attempt.continuation": info.continuation,
          },
        },
        parent,
      );
      return {
        trace: trace.setSpan(parent, span),
        end(result, error) {
          span.setAttribute("breakwater.attempt.outcome", result);
          if (error instanceof GatewayError && error.upstreamStatus !== undefined)
            span.setAttribute("http.response.status_code", error.upstreamStatus);
          if (result !== "ok") {
            // The gateway's error code where there is one; else the outcome class (a breaker's refusal: circuit_open).
            const type = error instanceof GatewayError ? error.code : result;
            span.setAttribute("error.type", type);
            span.setStatus({ code: SpanStatusCode.ERROR, message: type });
          }
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
