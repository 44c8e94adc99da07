import { GatewayError } from "../shared/error.ts";
import { errorText, log } from "./log.ts";
import { count } from "./metrics.ts";
import type { AttemptResult } from "./origin-attempt.ts";
import { admit, report, type BreakerContext } from "./origin-breakers.ts";
import type { Origin } from "./origins.ts";

/** Methods a second origin may receive after the first may already have acted on them (RFC 9110 §9.2.2). */
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Calls the origins in order until one answers: an origin whose breaker is open is
 * skipped, and one that cannot be connected to hands the call on to the next (nothing of
 * it was sent, so any method may go). After a header timeout or a connection broken
 * mid-call, the origin may be working on the request already: only idempotent methods
 * go on to the next origin, others get that error (a second origin could, say, start a
 * second GPU instance) — and a timeout would otherwise also double the client's wait.
 * Every answer, 5xx included, is returned as it is; what trips a breaker is decided in
 * `attemptOrigin`. When no origin was reachable: 503 `unavailable` with Retry-After.
 */
export async function withFailover(
  context: BreakerContext,
  origins: Origin[],
  method: string,
  attempt: (origin: Origin) => Promise<AttemptResult>,
): Promise<{ response: Response; origin: Origin }> {
  let retryAfterMs: number | undefined;
  let reached: GatewayError | undefined;
  let lastError: GatewayError | undefined;
  for (const origin of origins) {
    const admission = await admit(context, origin);
    if (!admission.call) {
      retryAfterMs = Math.min(retryAfterMs ?? Number.POSITIVE_INFINITY, admission.retryAfterMs);
      count("breakwater_edge_origin_failovers_total", { origin: origin.name, reason: "open" });
      continue;
    }
    const result = await attempt(origin);
    if (result.kind === "response") {
      report(context, origin, admission, result.originFault ? "failure" : "success");
      return { response: result.response, origin };
    }
    report(context, origin, admission, "failure");
    log("warn", "origin call failed", { request_id: context.requestId, origin: origin.name, failure: result.failure, error: errorText(result.error.cause) });
    if (result.failure !== "connect" && !idempotentMethods.has(method)) throw result.error;
    if (result.failure !== "connect") reached = result.error;
    lastError = result.error;
    count("breakwater_edge_origin_failovers_total", { origin: origin.name, reason: result.failure });
  }
  // An origin that took the call and failed says more than "none reachable".
  if (reached) throw reached;
  throw new GatewayError("unavailable", {
    message: "No regional origin can be reached right now.",
    retryAfterS: Math.max(1, Math.ceil((retryAfterMs ?? 1_000) / 1000)),
    cause: lastError,
  });
}
