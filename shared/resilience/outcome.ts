import { errorCodes } from "../contract/errors.ts";
import { GatewayError } from "../error.ts";

/**
 * What one upstream attempt came to — the one classification every guarded call uses
 * (provider routing, GPU marketplaces, the edge's origins), for breakers, retry budgets,
 * logs and metrics alike:
 * - `ok`: answered as asked;
 * - `provider_fault`: the upstream failed — connection refused or reset, its own 5xx/529,
 *   its timeouts measured from when the request was written;
 * - `rate_limited`: it said 429, or 402 (its account cannot pay for more) — cool down, do
 *   not call it broken;
 * - `client_fault`: it blamed the request (a 4xx), or the request could not be sent;
 * - `client_gone`: the caller disconnected, so the attempt says nothing of the upstream;
 * - `local`: ours — no connection free in time, shed, a bug.
 * Only `provider_fault` counts against a breaker or a retry budget.
 */
export type Outcome = "ok" | "provider_fault" | "rate_limited" | "client_fault" | "client_gone" | "local";

export interface Classified {
  outcome: Outcome;
  /**
   * A provider fault below HTTP (refused, reset, TLS, no connection in time): it hits
   * every model of the provider, so the provider-wide breaker takes it.
   */
  transport: boolean;
}

/** Codes that mean the upstream failed although it gave no status (broken stream, our deadline, unreachable). */
const upstreamCodes = new Set<string>(["upstream_error", "upstream_timeout", "origin_unreachable"]);

/** An upstream's HTTP status as an outcome (2xx and 3xx are answers, not failures). */
export function outcomeOfStatus(status: number): Outcome {
  // 402 is the provider refusing our account (billing, credits), not the request: like a
  // rate limit it passes with time or money, and another target may serve meanwhile.
  if (status === 429 || status === 402) return "rate_limited";
  if (status === 408 || status >= 500) return "provider_fault";
  if (status >= 400) return "client_fault";
  return "ok";
}

const classified = (outcome: Outcome, transport = false): Classified => ({ outcome, transport });

/**
 * Classifies a failed attempt. `clientGone` wins over everything: once the caller left, a
 * reset or a timeout is our own doing. An exception that is not a `GatewayError` is a bug
 * of ours, never the provider's.
 */
export function classifyFailure(error: unknown, clientGone: boolean): Classified {
  if (clientGone) return classified("client_gone");
  if (!(error instanceof GatewayError)) return classified("local");
  if (error.upstreamStatus !== undefined) return classified(outcomeOfStatus(error.upstreamStatus));
  if (error.transport) return classified("provider_fault", true);
  if (upstreamCodes.has(error.code)) return classified("provider_fault");
  return classified(errorCodes[error.code].status < 500 ? "client_fault" : "local");
}

/** Whether the outcome says the upstream is unhealthy: the only one breakers and retry budgets count. */
export function isProviderFault(outcome: Outcome): boolean {
  return outcome === "provider_fault";
}
