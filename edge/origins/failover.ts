import { GatewayError } from "../../shared/error.ts";
import { guardedAttempt } from "../../shared/resilience/attempt.ts";
import { errorText, log } from "../log.ts";
import { count, observe } from "../metrics/isolate.ts";
import { callOrigin, judgeAnswer } from "./attempt.ts";
import { admit, breakerTimeoutMs, type BreakerContext } from "./breakers.ts";
import type { Origin } from "./list.ts";

/** Methods a second origin may receive after the first may already have acted on them (RFC 9110 §9.2.2). */
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export interface OriginRequest {
  /** Appended to each origin's base URL. */
  pathAndQuery: string;
  init: RequestInit;
  /** How long an origin has to send its response headers (and a 5xx its short error body). */
  timeoutMs: number;
  /** The client's signal: when it aborts, so does the origin call, and no origin is blamed. */
  signal?: AbortSignal;
  /**
   * The body can be sent once (a streamed upload): once an origin was called, some of it may
   * be gone, so no other origin is tried after it. Origins whose breaker refuses are still
   * passed over: nothing was sent to them.
   */
  bodyOnce?: boolean;
}

/** How a failed attempt failed, for the failover rule, the log and the metric. */
type Failure = "connect" | "timeout" | "broken";

/**
 * Calls the origins in order until one answers, each attempt guarded by the shared
 * resilience policy (breaker lease → header deadline → fetch → classify → settle): an
 * origin whose breaker is open is skipped, and one that cannot be connected to hands the
 * call on to the next (nothing of it was sent, so any method may go). After a header
 * timeout or a connection broken mid-call, the origin may be working on the request
 * already: only idempotent methods go on to the next origin, others get that error (a
 * second origin could, say, start a second GPU instance) — and a timeout would otherwise
 * also double the client's wait. Every answer, 5xx included, is returned as it is; what
 * trips a breaker is `judgeAnswer`'s call. When no origin was reachable: 503 `unavailable`
 * with Retry-After. A client that leaves ends it at once, counted against no origin.
 */
export async function withFailover(
  context: BreakerContext,
  origins: Origin[],
  request: OriginRequest,
): Promise<{ response: Response; origin: Origin }> {
  const method = (request.init.method ?? "GET").toUpperCase();
  // A signal that never fires, for calls no client waits on (made here: workerd allows none at global scope).
  const signal = request.signal ?? new AbortController().signal;
  // A probe's report travels after the deadline; its lease outlives the deadline by as long as a report may take.
  const leaseMs = request.timeoutMs + breakerTimeoutMs;
  let retryAfterMs: number | undefined;
  let reached: GatewayError | undefined;
  let lastError: GatewayError | undefined;
  for (const origin of origins) {
    const startedAt = performance.now();
    const end = await guardedAttempt({
      admit: () => admit(context, origin, leaseMs),
      signal,
      totalMs: request.timeoutMs,
      totalMessage: `The regional origin sent no response headers within ${request.timeoutMs} ms.`,
      call: (scope) => callOrigin(`${origin.url}${request.pathAndQuery}`, request.init, scope.signal),
      judge: judgeAnswer,
    });
    if (end.kind === "refused") {
      retryAfterMs = Math.min(retryAfterMs ?? Number.POSITIVE_INFINITY, end.retryAfterMs);
      count("breakwater_edge_origin_failovers_total", { origin: origin.name, reason: "open" });
      continue;
    }
    observe(
      "breakwater_edge_origin_attempt_duration_seconds",
      { origin: origin.name, outcome: end.classified.outcome },
      (performance.now() - startedAt) / 1000,
    );
    if (end.kind === "served") return { response: end.result.response, origin };
    const { error, classified } = end;
    if (classified.outcome === "client_gone") throw clientGone(error);
    // Only the origin's faults move on; anything else (a bug of ours) is the answer.
    if (classified.outcome !== "provider_fault" || !(error instanceof GatewayError)) throw error;
    const failure = failureOf(error);
    log("warn", "origin call failed", context, {
      origin: origin.name,
      failure,
      error: errorText(error.cause ?? error),
    });
    if (request.bodyOnce || (failure !== "connect" && !idempotentMethods.has(method))) throw error;
    if (failure !== "connect") reached = error;
    lastError = error;
    count("breakwater_edge_origin_failovers_total", { origin: origin.name, reason: failure });
  }
  // An origin that took the call and failed says more than "none reachable".
  if (reached) throw reached;
  throw new GatewayError("unavailable", {
    message: "No regional origin can be reached right now.",
    retryAfterS: Math.max(1, Math.ceil((retryAfterMs ?? 1_000) / 1000)),
    cause: lastError,
  });
}

function failureOf(error: GatewayError): Failure {
  if (error.transport) return "connect";
  return error.code === "upstream_timeout" ? "timeout" : "broken";
}

/**
 * The client disconnected before an answer. Nobody reads what is sent back; a 4xx keeps it
 * out of the error log and the stale cache, and gives the token reservation back whole.
 */
function clientGone(cause: unknown): GatewayError {
  return new GatewayError("request_timeout", { message: "The client closed the request before the answer.", cause });
}
