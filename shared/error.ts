import { errorCodes, type ErrorBody, type ErrorCode } from "./contract/errors.ts";
import { scrubText } from "./logging/scrub.ts";

export interface GatewayErrorOptions {
  message?: string;
  /** The request field at fault, e.g. `messages[0].role`. */
  param?: string;
  /** Seconds the client should wait before retrying; becomes `Retry-After`. */
  retryAfterS?: number;
  /** The provider's HTTP status, when the error came from a provider's answer. */
  upstreamStatus?: number;
  /**
   * The call failed below HTTP, before any answer: connection refused or reset, TLS, no
   * connection in time. Such faults hit every model of a provider alike.
   */
  transport?: boolean;
  /** Headers the answer carries besides the error's own (e.g. `x-breakwater-attempts`). */
  headers?: Record<string, string>;
  /**
   * The provider's own word on whether the same call may succeed if repeated (Anthropic's
   * `x-should-retry`): false moves on to the next target at once, true allows a retry the
   * status alone would not. Unset, the outcome class decides.
   */
  retry?: boolean;
  cause?: unknown;
}

const defaultMessages: Record<ErrorCode, string> = {
  invalid_json: "The request body is not valid JSON.",
  invalid_request: "The request is invalid.",
  context_length_exceeded: "The request exceeds the model's context window.",
  content_policy_violation: "The provider rejected the request under its content policy.",
  invalid_api_key: "A valid API key is required.",
  invalid_signature: "The request does not carry a valid edge signature.",
  invalid_admin_key: "A valid admin key is required.",
  forbidden: "This API key may not perform this action.",
  admin_disabled: "The admin API is disabled: no ADMIN_API_KEY is configured.",
  not_found: "Not found.",
  model_not_found: "The model does not exist.",
  method_not_allowed: "Method not allowed.",
  request_timeout: "The request timed out.",
  conflict: "The request conflicts with the current state of the resource.",
  idempotency_key_reused: "This Idempotency-Key was already used with a different request.",
  payload_too_large: "The request body is too large.",
  unsupported_media_type: "The request body must be application/json.",
  rate_limited: "Rate limit exceeded.",
  tenant_over_share: "This tenant is over its share of the queue.",
  budget_exceeded: "The spend budget is exhausted.",
  internal_error: "Internal error.",
  upstream_error: "The upstream provider failed.",
  origin_unreachable: "The regional origin could not be reached.",
  unavailable: "The service is temporarily unavailable.",
  circuit_open: "The upstream is temporarily disabled after repeated failures.",
  overloaded: "The gateway is at capacity; try again shortly.",
  upstream_timeout: "The upstream provider timed out.",
};

/** The one error type of Breakwater: the code decides status, type and body. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryAfterS: number | undefined;
  readonly upstreamStatus: number | undefined;
  readonly transport: boolean;
  /** Added to the error response; the router notes its attempts here on the way out. */
  readonly headers: Record<string, string>;
  readonly retry: boolean | undefined;

  constructor(code: ErrorCode, options: GatewayErrorOptions = {}) {
    // Messages reach clients and carry providers' words, which may echo a key (`Incorrect API key provided: sk-…`).
    super(options.message === undefined ? defaultMessages[code] : scrubText(options.message), { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfterS = options.retryAfterS;
    this.upstreamStatus = options.upstreamStatus;
    this.transport = options.transport ?? false;
    this.headers = { ...options.headers };
    this.retry = options.retry;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  /** The body clients get; `trace_id` only when a trace id is given (regional always has one, the edge not yet). */
  toBody(requestId: string | null, traceId?: string): ErrorBody {
    return {
      error: {
        message: this.message,
        type: errorCodes[this.code].type,
        code: this.code,
        param: this.param,
        request_id: requestId,
        ...(traceId !== undefined && { trace_id: traceId }),
      },
    };
  }
}

/** Headers that go with an error response: JSON, and `Retry-After` when known. */
export function errorHeaders(error: GatewayError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers, "content-type": "application/json" };
  if (error.retryAfterS !== undefined) headers["retry-after"] = String(Math.max(0, Math.ceil(error.retryAfterS)));
  return headers;
}

/** A `Response` for an error, for code paths that build responses by hand. */
export function errorResponse(error: GatewayError, requestId: string | null, traceId?: string): Response {
  const headers = errorHeaders(error);
  if (requestId) headers["x-request-id"] = requestId;
  return new Response(JSON.stringify(error.toBody(requestId, traceId)), { status: error.status, headers });
}
