import type { Transition } from "../../shared/circuit-breaker.ts";
import { errorText, log } from "../log.ts";
import { withFailover } from "../origins/failover.ts";
import type { Origin } from "../origins/list.ts";
import { signatureHeaders } from "../origins/signature.ts";
import { traceHeaders } from "../trace.ts";
import type { StatusCallContext } from "./regional-status.ts";

const path = "/internal/incidents";
const postTimeoutMs = 5_000;

/**
 * Sends an origin breaker's openings and closings to regional's incident history (`POST
 * /internal/incidents`, signed), where the status page's timeline reads them. Half-open is the
 * breaker probing, not news, and failovers of single requests are left out: one line per change.
 * Best effort: a lost post costs a line in the timeline, never a request. The breakers in
 * `context` must not report transitions themselves, or a post's own failures would post again.
 */
export async function postTransitions(context: StatusCallContext, origin: Origin, transitions: Transition[]): Promise<void> {
  const at = new Date().toISOString();
  const incidents = transitions
    .filter((transition) => transition.to !== "half_open")
    .map((transition) => ({
      at,
      kind: transition.to === "open" ? "breaker_opened" : "breaker_closed",
      subject: origin.name,
      detail: { from: transition.from, reason: transition.reason.slice(0, 200) },
    }));
  if (incidents.length === 0) return;
  const body = new TextEncoder().encode(JSON.stringify({ incidents }));
  try {
    const covered = { "content-type": "application/json" };
    const headers = await signatureHeaders(context.signingSecret, { method: "POST", pathAndQuery: path, body, vouched: {}, covered });
    // The origin it is about goes last: when it just opened, the post goes elsewhere without counting a failover.
    const origins = [...context.origins.filter((other) => other.name !== origin.name), origin];
    const { response } = await withFailover(context.breakers, origins, {
      pathAndQuery: path,
      init: {
        method: "POST",
        body,
        headers: { ...headers, ...covered, ...traceHeaders(context.trace), "x-request-id": context.requestId },
      },
      timeoutMs: Math.min(postTimeoutMs, context.originTimeoutMs),
    });
    await response.body?.cancel();
    if (response.status !== 202) throw new Error(`regional answered ${response.status}`);
  } catch (error) {
    log("warn", "could not post origin breaker incidents", context, { origin: origin.name, error: errorText(error) });
  }
}
