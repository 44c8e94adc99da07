import { GatewayError } from "../../shared/error.ts";
import type { UpstreamResponse } from "./http.ts";

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if present. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

interface UpstreamErrorBody {
  error?: { message?: unknown; param?: unknown; code?: unknown; type?: unknown } | string;
  message?: unknown;
}

interface UpstreamErrorFields {
  message?: string;
  param?: string;
  code?: string;
}

function fieldsOf(body: unknown): UpstreamErrorFields {
  if (!body || typeof body !== "object") return {};
  const { error, message } = body as UpstreamErrorBody;
  if (typeof error === "string") return { message: error };
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return { message: text(error?.message) ?? text(message), param: text(error?.param), code: text(error?.code) ?? text(error?.type) };
}

const contextLength = /context_length_exceeded|context length|maximum context|too many tokens|prompt is too long/i;
const contentPolicy = /content_policy|content_filter|content management policy|safety system/i;

/**
 * Maps a provider's error status and fields to a gateway error. Client faults keep the
 * provider's message; failures of the provider or of our credentials become 5xx so the
 * client is never told its own key is wrong when ours is.
 */
export function upstreamErrorFrom(provider: string, status: number, fields: UpstreamErrorFields, retryAfterS?: number): GatewayError {
  const { message, param, code } = fields;
  const said = message ? `: ${message}` : "";
  const base = { upstreamStatus: status };
  if (status === 400 || status === 422) {
    const clue = `${code ?? ""} ${message ?? ""}`;
    if (contextLength.test(clue)) return new GatewayError("context_length_exceeded", { ...base, message: message ?? undefined, param: param ?? "messages" });
    if (contentPolicy.test(clue)) return new GatewayError("content_policy_violation", { ...base, message: message ?? undefined, param });
    return new GatewayError("invalid_request", { ...base, message: message ?? `${provider} rejected the request.`, param });
  }
  if (status === 404) return new GatewayError("model_not_found", { ...base, message: message ?? `${provider} does not know the model.`, param: "model" });
  if (status === 413) return new GatewayError("payload_too_large", { ...base, message: message ?? `${provider} found the request too large.` });
  if (status === 429) return new GatewayError("rate_limited", { ...base, message: `${provider} is rate limiting${said}`, retryAfterS });
  if (status === 408 || status === 504) return new GatewayError("upstream_timeout", { ...base, message: `${provider} timed out (${status})${said}`, retryAfterS });
  if (status === 401 || status === 403) return new GatewayError("upstream_error", { ...base, message: `${provider} refused the gateway's credentials (${status}).` });
  return new GatewayError("upstream_error", { ...base, message: `${provider} failed with ${status}${said}`, retryAfterS });
}

/** Turns a provider's error response into a gateway error. */
export async function upstreamError(provider: string, response: UpstreamResponse): Promise<GatewayError> {
  const body: unknown = await response.json().catch(() => undefined);
  return upstreamErrorFrom(provider, response.status, fieldsOf(body), retryAfterSeconds(response.header("retry-after")));
}

/**
 * A call that never got a response: aborted by us, no free connection of ours (kept as it
 * is: not the provider's fault), or a connection that failed (refused, reset, TLS, connect
 * timeout), flagged `transport`.
 */
export function transportError(provider: string, error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? error;
  if (error instanceof GatewayError) {
    const { transport, retryAfterS, upstreamStatus } = error;
    return new GatewayError(error.code, { message: `${provider}: ${error.message}`, transport, retryAfterS, upstreamStatus, cause: error });
  }
  // The system's error code (ECONNREFUSED, ECONNRESET...) says what happened; its message
  // would tell clients the provider's address, which stays in the logs.
  const detail = systemCode(error) ?? systemCode(error instanceof Error ? error.cause : undefined);
  return new GatewayError("upstream_error", { message: `${provider} could not be reached${detail ? ` (${detail})` : ""}`, transport: true, cause: error });
}

function systemCode(error: unknown): string | undefined {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : undefined;
}
