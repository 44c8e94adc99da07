import type { ErrorCode } from "../../shared/contract/errors.ts";
import { GatewayError } from "../../shared/error.ts";
import { outcomeOfStatus, type Classified } from "../../shared/resilience/outcome.ts";
import { readUpTo, type BoundedRead } from "../../shared/read-body.ts";
import { connectable } from "./connect-check.ts";

/** An origin's answer, with what its body said when it had to be read to judge it. */
export interface OriginAnswer {
  response: Response;
  /** A 5xx with which the regional tier reports that the *providers* failed: the origin did its job. */
  providersFailed: boolean;
}

/**
 * What Cloudflare answers in place of an origin it could not connect to (refused, TCP
 * timeout, unreachable, TLS handshake failed): nothing of the request was sent.
 */
const connectFailureStatuses = new Set([521, 522, 523, 525]);
/**
 * Error codes with which the regional tier reports that the *providers* failed (every
 * target failed, provider 5xx or timeout, provider breaker open). The origin did its job.
 */
const providerFailureCodes = new Set<ErrorCode | string>(["upstream_error", "upstream_timeout", "circuit_open", "unavailable"]);
/** A larger 5xx body is not Breakwater's error shape: at most this much is read to find out. */
const maxErrorBodyBytes = 64 * 1024;

/**
 * One call to `url` under `signal` (the client's and the attempt's deadline). Failures are
 * `GatewayError`s the shared classification reads: nothing connected → `origin_unreachable`
 * with `transport` (nothing was sent, any method may go elsewhere); broken after the
 * request may have gone out → `origin_unreachable` without it; the deadline → its
 * `upstream_timeout`. An abort by the client rethrows as is: the caller knows the client left.
 */
export async function callOrigin(url: string, init: RequestInit, signal: AbortSignal): Promise<OriginAnswer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual", signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason instanceof GatewayError ? signal.reason : error;
    throw new GatewayError("origin_unreachable", { transport: !(await connectable(url)), cause: error });
  }
  if (connectFailureStatuses.has(response.status)) {
    await response.body?.cancel();
    throw new GatewayError("origin_unreachable", { transport: true, cause: new Error(`origin answered ${response.status}`) });
  }
  return await withVerdict(response, signal);
}

/**
 * The answer as an outcome for the origin's breaker. An origin's own 5xx is its fault
 * (`outcomeOfStatus`); a 5xx reporting that the providers failed is not. Below 500 the
 * origin answered for the request, so nothing there is its fault (not even a 408).
 */
export function judgeAnswer(answer: OriginAnswer): Classified {
  const { status } = answer.response;
  if (answer.providersFailed) return { outcome: "ok", transport: false };
  const outcome = outcomeOfStatus(status);
  return { outcome: outcome === "provider_fault" && status < 500 ? "client_fault" : outcome, transport: false };
}

/**
 * The rule for 5xx answers: the regional tier tells that the providers failed when it
 * names the provider that served (`x-breakwater-provider`/`x-breakwater-attempts`), or its
 * body is Breakwater's error shape with a provider-side code. A bare 502/503 from a load
 * balancer, a 500 `internal_error` or an unreadable body is the origin's own.
 */
async function withVerdict(response: Response, signal: AbortSignal): Promise<OriginAnswer> {
  if (response.status < 500) return { response, providersFailed: false };
  if (response.headers.has("x-breakwater-provider") || response.headers.has("x-breakwater-attempts"))
    return { response, providersFailed: true };
  const length = Number(response.headers.get("content-length") ?? 0);
  if (!response.body || !(response.headers.get("content-type") ?? "").includes("json") || length > maxErrorBodyBytes)
    return { response, providersFailed: false };
  const rebuilt = (body: BodyInit | null) =>
    new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // Read up to the bound whatever the framing (a chunked body says no length), then handed on as read.
  let read: BoundedRead;
  try {
    read = await readUpTo(response.body, maxErrorBodyBytes);
  } catch (error) {
    // The deadline or the client cut the read: that is how the attempt ended, not the origin's answer.
    if (signal.aborted) throw signal.reason instanceof GatewayError ? signal.reason : error;
    return { response: rebuilt(null), providersFailed: false };
  }
  if (!read.complete) return { response: rebuilt(read.body), providersFailed: false };
  const text = new TextDecoder().decode(read.bytes);
  return { response: rebuilt(text), providersFailed: providerFailureCodes.has(errorCodeOf(text) ?? "") };
}

function errorCodeOf(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
    const error: unknown = body.error;
    if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
    return typeof error.code === "string" ? error.code : undefined;
  } catch {
    return undefined;
  }
}
