import { GatewayError } from "../../shared/error.ts";

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if present. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

interface UpstreamErrorBody {
  error?: { message?: unknown; param?: unknown } | string;
  message?: unknown;
}

function messageOf(body: unknown): { message?: string; param?: string } {
  if (!body || typeof body !== "object") return {};
  const { error, message } = body as UpstreamErrorBody;
  if (typeof error === "string") return { message: error };
  return {
    message: typeof error?.message === "string" ? error.message : typeof message === "string" ? message : undefined,
    param: typeof error?.param === "string" ? error.param : undefined,
  };
}

/**
 * Turns a provider's error response into a gateway error. Client faults keep the
 * provider's message; failures of the provider or of our credentials become 5xx so the
 * client is never told its own key is wrong when ours is.
 */
export async function upstreamError(provider: string, response: Response): Promise<GatewayError> {
  const body: unknown = await response.json().catch(() => undefined);
  const { message, param } = messageOf(body);
  const status = response.status;
  const retryAfterS = retryAfterSeconds(response.headers.get("retry-after"));
  const said = message ? `: ${message}` : "";
  if (status === 400 || status === 422) return new GatewayError("invalid_request", { message: message ?? `${provider} rejected the request.`, param });
  if (status === 404) return new GatewayError("model_not_found", { message: message ?? `${provider} does not know the model.`, param: "model" });
  if (status === 413) return new GatewayError("payload_too_large", { message: message ?? `${provider} found the request too large.` });
  if (status === 429) return new GatewayError("rate_limited", { message: `${provider} is rate limiting${said}`, retryAfterS });
  if (status === 408 || status === 504) return new GatewayError("upstream_timeout", { message: `${provider} timed out (${status})${said}` });
  if (status === 401 || status === 403) return new GatewayError("upstream_error", { message: `${provider} refused the gateway's credentials (${status}).` });
  return new GatewayError("upstream_error", { message: `${provider} failed with ${status}${said}`, retryAfterS });
}

/** A fetch that never got a response: aborted by us, or no connection. */
export function transportError(provider: string, error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason ?? error;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return new GatewayError("upstream_error", { message: `${provider} could not be reached${cause}`, cause: error });
}
