/**
 * Error codes → HTTP status and OpenAI error `type`. The only place a status is chosen
 * for a failure; both tiers answer every error through this table.
 */
export const errorCodes = {
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  context_length_exceeded: { status: 400, type: "invalid_request_error" },
  content_policy_violation: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  invalid_signature: { status: 401, type: "authentication_error" },
  invalid_admin_key: { status: 401, type: "authentication_error" },
  forbidden: { status: 403, type: "permission_error" },
  admin_disabled: { status: 403, type: "permission_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_timeout: { status: 408, type: "timeout_error" },
  conflict: { status: 409, type: "invalid_request_error" },
  idempotency_key_reused: { status: 422, type: "invalid_request_error" },
  payload_too_large: { status: 413, type: "invalid_request_error" },
  unsupported_media_type: { status: 415, type: "invalid_request_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  tenant_over_share: { status: 429, type: "rate_limit_error" },
  budget_exceeded: { status: 429, type: "rate_limit_error" },
  internal_error: { status: 500, type: "server_error" },
  upstream_error: { status: 502, type: "upstream_error" },
  origin_unreachable: { status: 502, type: "upstream_error" },
  unavailable: { status: 503, type: "service_unavailable" },
  circuit_open: { status: 503, type: "service_unavailable" },
  overloaded: { status: 503, type: "service_unavailable" },
  upstream_timeout: { status: 504, type: "timeout_error" },
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** The body of every error response, in OpenAI's shape plus the request id (and, where the tier knows it, the W3C trace id). */
export interface ErrorBody {
  error: {
    message: string;
    type: string;
    code: ErrorCode | string;
    param: string | null;
    request_id: string | null;
    trace_id?: string;
  };
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCodes, code);
}
