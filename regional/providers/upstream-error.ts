import { GatewayError } from "../../shared/error.ts";
import type { UpstreamResponse } from "./transport.ts";

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if present. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

const durationUnits: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
const durationPart = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

/**
 * Seconds from a rate-limit reset duration: OpenAI writes Go durations (`1s`, `6m0s`,
 * `12ms`, `1h2m3.5s`); some compatible servers plain seconds. Anything else is unknown.
 */
export function resetSeconds(value: string | null): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  if (!/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(durationPart)) seconds += Number(amount) * (durationUnits[unit ?? "s"] ?? 1);
  return seconds;
}

/**
 * Where a provider says when each rate-limit dimension resets: OpenAI as a duration in
 * `x-ratelimit-reset-*`, Anthropic as an RFC 3339 time in `anthropic-ratelimit-*-reset`
 * (docs.anthropic.com, "Rate limits": response headers), each beside a `-remaining` count.
 */
export const rateLimitHeaders: ReadonlyArray<{ dimension: string; reset: string; remaining: string }> = [
  ...["requests", "tokens"].map((name) => ({
    dimension: name,
    reset: `x-ratelimit-reset-${name}`,
    remaining: `x-ratelimit-remaining-${name}`,
  })),
  ...["requests", "tokens", "input-tokens", "output-tokens"].map((name) => ({
    dimension: name,
    reset: `anthropic-ratelimit-${name}-reset`,
    remaining: `anthropic-ratelimit-${name}-remaining`,
  })),
];

/** Seconds until a reset given as a duration (OpenAI) or a time (Anthropic). */
export function untilReset(value: string | null, now: number): number | undefined {
  const duration = resetSeconds(value);
  if (duration !== undefined || !value) return duration;
  const at = Date.parse(value.trim());
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/**
 * How long a 429 asks to wait when it says so only in its rate-limit headers: the reset of
 * the exhausted dimension (remaining 0), or of every dimension reported when none says 0 —
 * the longest, since the call needs all of them.
 */
function rateLimitResetSeconds(response: Pick<UpstreamResponse, "header">, now: number): number | undefined {
  const dimensions = rateLimitHeaders.flatMap((names) => {
    const reset = untilReset(response.header(names.reset), now);
    return reset === undefined ? [] : [{ reset, exhausted: response.header(names.remaining)?.trim() === "0" }];
  });
  const exhausted = dimensions.filter((dimension) => dimension.exhausted);
  const counted = exhausted.length > 0 ? exhausted : dimensions;
  return counted.length === 0 ? undefined : Math.max(...counted.map((dimension) => dimension.reset));
}

/**
 * Seconds an answer asks to wait: `retry-after-ms`, then `Retry-After` (both read by
 * OpenAI's and Anthropic's official SDKs), then, on a 429 only, the rate-limit resets.
 */
export function waitFromHeaders(response: Pick<UpstreamResponse, "status" | "header">, now = Date.now()): number | undefined {
  const millis = response.header("retry-after-ms")?.trim();
  if (millis && Number.isFinite(Number(millis)) && Number(millis) >= 0) return Number(millis) / 1000;
  return (
    retryAfterSeconds(response.header("retry-after"), now) ?? (response.status === 429 ? rateLimitResetSeconds(response, now) : undefined)
  );
}

/** The provider's own word on repeating the call (`x-should-retry`, as the official SDKs obey it). */
export function shouldRetryHeader(response: Pick<UpstreamResponse, "header">): boolean | undefined {
  const said = response.header("x-should-retry")?.trim();
  return said === "true" ? true : said === "false" ? false : undefined;
}

interface UpstreamErrorBody {
  error?: { message?: unknown; param?: unknown; code?: unknown; type?: unknown; details?: { error_code?: unknown } } | string;
  message?: unknown;
}

export interface UpstreamErrorFields {
  message?: string;
  param?: string;
  /** The error's code, or its type when it has no code: what the message patterns are read with. */
  code?: string;
  /** The error's type, besides its code (OpenAI sends both). */
  type?: string;
  /** A finer code some errors carry (Anthropic's `error.details.error_code`). */
  detailCode?: string;
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

function fieldsOf(body: unknown): UpstreamErrorFields {
  if (!body || typeof body !== "object") return {};
  const { error, message } = body as UpstreamErrorBody;
  if (typeof error === "string") return { message: error };
  return {
    message: text(error?.message) ?? text(message),
    param: text(error?.param),
    code: text(error?.code) ?? text(error?.type),
    type: text(error?.type),
    detailCode: text(error?.details?.error_code),
  };
}

const contextLength = /context_length_exceeded|context length|maximum context|too many tokens|prompt is too long/i;
const contentPolicy = /content_policy|content_filter|content management policy|safety system/i;

/**
 * Codes that say our account cannot pay for more, whatever the status: OpenAI's 429
 * `insufficient_quota` (credits or monthly budget used up), Anthropic's 402 `billing_error`
 * and its 429 `enforced_spend_limit_reached` (the tier's monthly cap). Waiting a few seconds
 * never helps, so they are not rate limits.
 */
const accountCodes = new Set(["insufficient_quota", "billing_error", "enforced_spend_limit_reached"]);

/** How long a provider whose account cannot pay is left alone before one call tries it again. */
export const accountCoolDownS = 300;

function accountCannotPay(status: number, fields: UpstreamErrorFields): boolean {
  return status === 402 || [fields.code, fields.type, fields.detailCode].some((code) => code !== undefined && accountCodes.has(code));
}

/**
 * "This provider cannot serve now": billing, quota or a spend limit. It cools down long
 * (beyond any route's Retry-After cap, so routes move on at once and skip it until then) and
 * is never retried. The status stays 429 or 402 so the outcome is `rate_limited`, never a
 * fault of the provider's health or of the client; a limit sent with another status (an
 * Anthropic spend limit of our own setting comes as a 400) counts as 402.
 */
export function accountError(provider: string, status: number, message: string | undefined): GatewayError {
  return new GatewayError("upstream_error", {
    upstreamStatus: status === 429 ? 429 : 402,
    message: `${provider} cannot serve now: its account is out of credit, quota or spend limit${message ? `: ${message}` : ""}`,
    retryAfterS: accountCoolDownS,
    retry: false,
  });
}

/**
 * Maps a provider's error status and fields to a gateway error. Client faults keep the
 * provider's message; failures of the provider or of our credentials become 5xx so the
 * client is never told its own key is wrong when ours is. `retry` is the provider's own
 * word on repeating the call (`x-should-retry`), which routing obeys.
 */
export function upstreamErrorFrom(
  provider: string,
  status: number,
  fields: UpstreamErrorFields,
  retryAfterS?: number,
  retry?: boolean,
): GatewayError {
  const { message, param, code } = fields;
  if (accountCannotPay(status, fields)) return accountError(provider, status, message);
  const said = message ? `: ${message}` : "";
  const base = { upstreamStatus: status, ...(retry !== undefined && { retry }) };
  if (status === 400 || status === 422) {
    const clue = `${code ?? ""} ${message ?? ""}`;
    if (contextLength.test(clue))
      return new GatewayError("context_length_exceeded", { ...base, message: message ?? undefined, param: param ?? "messages" });
    if (contentPolicy.test(clue)) return new GatewayError("content_policy_violation", { ...base, message: message ?? undefined, param });
    return new GatewayError("invalid_request", { ...base, message: message ?? `${provider} rejected the request.`, param });
  }
  if (status === 404)
    return new GatewayError("model_not_found", { ...base, message: message ?? `${provider} does not know the model.`, param: "model" });
  if (status === 413)
    return new GatewayError("payload_too_large", { ...base, message: message ?? `${provider} found the request too large.` });
  if (status === 429) return new GatewayError("rate_limited", { ...base, message: `${provider} is rate limiting${said}`, retryAfterS });
  if (status === 408 || status === 504)
    return new GatewayError("upstream_timeout", { ...base, message: `${provider} timed out (${status})${said}`, retryAfterS });
  if (status === 401 || status === 403)
    return new GatewayError("upstream_error", { ...base, message: `${provider} refused the gateway's credentials (${status}).` });
  return new GatewayError("upstream_error", { ...base, message: `${provider} failed with ${status}${said}`, retryAfterS });
}

/** Turns a provider's error response into a gateway error. */
export async function upstreamError(provider: string, response: UpstreamResponse): Promise<GatewayError> {
  const body: unknown = await response.json().catch(() => undefined);
  return upstreamErrorFrom(provider, response.status, fieldsOf(body), waitFromHeaders(response), shouldRetryHeader(response));
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
  return new GatewayError("upstream_error", {
    message: `${provider} could not be reached${detail ? ` (${detail})` : ""}`,
    transport: true,
    cause: error,
  });
}

function systemCode(error: unknown): string | undefined {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  return typeof code === "string" ? code : undefined;
}
