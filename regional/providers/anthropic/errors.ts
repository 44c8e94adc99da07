import { GatewayError } from "../../../shared/error.ts";
import { accountError, shouldRetryHeader, upstreamErrorFrom, waitFromHeaders } from "../upstream-error.ts";
import type { UpstreamResponse } from "../transport.ts";
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

/**
 * A spend limit of our own setting (organisation or workspace) comes as a 400 whose message
 * begins so (platform.claude.com/docs/en/api/errors): our account, not the request.
 */
const ownSpendLimit = /^You have reached your specified (?:workspace )?API usage limits/i;

function detailOf(body: unknown): Partial<ErrorDetail> {
  const error = body && typeof body === "object" && "error" in body ? body.error : undefined;
  if (!error || typeof error !== "object") return {};
  const { type, message, details } = error as Record<string, unknown>;
  const code = details && typeof details === "object" && "error_code" in details ? details.error_code : undefined;
  return {
    type: typeof type === "string" ? type : undefined,
    message: typeof message === "string" ? message : undefined,
    ...(typeof code === "string" && { details: { error_code: code } }),
  };
}

/** What the answer's headers say: how long to wait, and whether repeating may help. */
export interface ErrorHints {
  retryAfterS?: number;
  retry?: boolean;
}

/**
 * An Anthropic error body (`{"type":"error","error":{"type","message","details"}}`) as a
 * gateway error. The shared mapping decides by status and codes (402 `billing_error` and the
 * 429 `enforced_spend_limit_reached` are our account, not a rate limit); `overloaded_error`
 * keeps its 529 so routing retries it and knows the overload is about one model.
 */
export function anthropicError(provider: string, status: number, body: unknown, hints: ErrorHints = {}): GatewayError {
  const { type, message, details } = detailOf(body);
  if (status === 400 && message && ownSpendLimit.test(message)) return accountError(provider, status, message);
  if (status === 400 && message && contentFiltering.test(message)) {
    return new GatewayError("content_policy_violation", {
      upstreamStatus: status,
      message,
      ...(hints.retry !== undefined && { retry: hints.retry }),
    });
  }
  return upstreamErrorFrom(
    provider,
    status,
    { message, code: type, type, detailCode: details?.error_code ?? undefined },
    hints.retryAfterS,
    hints.retry,
  );
}

export async function anthropicResponseError(provider: string, response: UpstreamResponse): Promise<GatewayError> {
  const body: unknown = await response.json().catch(() => undefined);
  return anthropicError(provider, response.status, body, { retryAfterS: waitFromHeaders(response), retry: shouldRetryHeader(response) });
}

/** An `error` event after the stream began: the type's usual status stands in for the HTTP one. */
export function anthropicStreamError(provider: string, detail: Partial<ErrorDetail>): GatewayError {
  return anthropicError(provider, statusOfType[detail.type ?? ""] ?? 500, { error: detail });
}
