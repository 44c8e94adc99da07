import { GatewayError } from "../../../shared/error.ts";
import { retryAfterSeconds, upstreamErrorFrom } from "../upstream-error.ts";
import type { UpstreamResponse } from "../http.ts";
import type { ErrorDetail } from "./wire.ts";

/** Anthropic's published error types and the HTTP status each is sent with. */
const statusOfType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic's wording when its filter blocks an answer; it has no dedicated error type. */
const contentFiltering = /content filtering policy/i;

function detailOf(body: unknown): Partial<ErrorDetail> {
  const error = body && typeof body === "object" && "error" in body ? body.error : undefined;
  if (!error || typeof error !== "object") return {};
  const { type, message } = error as Record<string, unknown>;
  return { type: typeof type === "string" ? type : undefined, message: typeof message === "string" ? message : undefined };
}

/**
 * An Anthropic error body (`{"type":"error","error":{"type","message"}}`) as a gateway
 * error. The shared mapping decides by status; `overloaded_error` keeps its 529 so routing
 * retries it and knows the overload is about one model.
 */
export function anthropicError(provider: string, status: number, body: unknown, retryAfterS?: number): GatewayError {
  const { type, message } = detailOf(body);
  if (status === 400 && message && contentFiltering.test(message)) {
    return new GatewayError("content_policy_violation", { upstreamStatus: status, message });
  }
  return upstreamErrorFrom(provider, status, { message, code: type }, retryAfterS);
}

export async function anthropicResponseError(provider: string, response: UpstreamResponse): Promise<GatewayError> {
  const body: unknown = await response.json().catch(() => undefined);
  return anthropicError(provider, response.status, body, retryAfterSeconds(response.header("retry-after")));
}

/** An `error` event after the stream began: the type's usual status stands in for the HTTP one. */
export function anthropicStreamError(provider: string, detail: Partial<ErrorDetail>): GatewayError {
  return anthropicError(provider, statusOfType[detail.type ?? ""] ?? 500, { error: detail });
}
