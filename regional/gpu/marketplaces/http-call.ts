import { GatewayError } from "../../../shared/error.ts";
import { callUpstream, jsonBody, type Transport, type UpstreamResponse } from "../../providers/http.ts";
import type { CallContext } from "../../providers/types.ts";
import { retryAfterSeconds, upstreamErrorFrom } from "../../providers/upstream-error.ts";
import type { Pacer } from "../pacer.ts";

/** What a marketplace's error body says, read by the adapter for its own shape. */
export interface ErrorFields {
  message?: string;
  code?: string;
}

/** One marketplace's HTTP settings: how it is reached, paced, and how its errors read. */
export interface MarketplaceHttp {
  name: string;
  transport: Transport;
  pacer: Pacer;
  errorFields(body: unknown): ErrorFields;
  /** The wait after a 429 that names none (Vast.ai sends no Retry-After), per endpoint. */
  retryAfterS(endpoint: string): number;
  /** How long the marketplace is left alone after it refused the account (billing, credit, quota). */
  billingCoolDownS: number;
}

export interface MarketplaceRequest {
  /** The endpoint's name in the pacer's limits. */
  endpoint: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON when present. */
  body?: unknown;
}

// Neither marketplace documents a billing error; these are the words such answers use.
const billing =
  /insufficient[ _-]?(credit|funds|balance)|not enough (credit|funds|balance)|low[ _-]?balance|out of credit|payment[ _-]?required|billing|quota/i;

/**
 * A marketplace's error answer as a gateway error, mapped onto the outcome classes:
 * billing and quota refusals are "this marketplace cannot serve now" (upstreamStatus 402,
 * or the 429 it came as, `retry: false`, a long `retryAfterS`: cool it down, never retry
 * it); a 429 is a rate limit with the wait it asked for or the endpoint's interval; a 404 a
 * missing resource; the rest as for inference providers.
 */
export function marketplaceError(
  http: Pick<MarketplaceHttp, "name" | "billingCoolDownS">,
  status: number,
  fields: ErrorFields,
  retryAfterS: number | undefined,
): GatewayError {
  const said = fields.message ?? fields.code;
  if (status === 402 || (status >= 400 && status < 500 && billing.test(`${fields.code ?? ""} ${fields.message ?? ""}`))) {
    return new GatewayError("unavailable", {
      message: `${http.name} cannot serve now: it refused the gateway's account${said ? ` (${said})` : ""}.`,
      upstreamStatus: status === 429 ? 429 : 402,
      retryAfterS: Math.max(retryAfterS ?? 0, http.billingCoolDownS),
      retry: false,
    });
  }
  if (status === 429)
    return new GatewayError("rate_limited", {
      upstreamStatus: 429,
      message: `${http.name} is rate limiting${said ? `: ${said}` : ""}`,
      retryAfterS,
    });
  if (status === 404) return new GatewayError("not_found", { upstreamStatus: 404, message: `${http.name}: ${said ?? "not found"}` });
  return upstreamErrorFrom(http.name, status, fields, retryAfterS);
}

/**
 * One JSON call to a marketplace: paced per endpoint first, then sent; a non-2xx answer
 * becomes the marketplace's error, and a 429 also pushes the endpoint's next slot back.
 */
export async function callMarketplace<T>(http: MarketplaceHttp, request: MarketplaceRequest, context: CallContext): Promise<T> {
  await http.pacer.take(request.endpoint, context.signal);
  const headers =
    request.body === undefined
      ? { accept: "application/json", ...request.headers }
      : { accept: "application/json", "content-type": "application/json", ...request.headers };
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const toError = async (name: string, response: UpstreamResponse): Promise<GatewayError> => {
    const fields = http.errorFields(await response.json().catch(() => undefined));
    const asked = retryAfterSeconds(response.header("retry-after"));
    const retryAfterS = response.status === 429 ? (asked ?? http.retryAfterS(request.endpoint)) : asked;
    if (response.status === 429) http.pacer.penalize(request.endpoint, (retryAfterS ?? 0) * 1000);
    return marketplaceError({ name, billingCoolDownS: http.billingCoolDownS }, response.status, fields, retryAfterS);
  };
  const response = await callUpstream(
    http.name,
    http.transport,
    { method: request.method, url: request.url, headers, body },
    context,
    toError,
  );
  return await jsonBody<T>(http.name, response, context);
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value : undefined);

/**
 * `{"detail": "..."}` or FastAPI's `{"detail": [{"msg": ...}]}` (io.net, Vast.ai's 429),
 * Vast.ai's `{"success": false, "error": "invalid_args", "msg": "..."}`, and `{"message": ...}`.
 */
export function errorFieldsOf(body: unknown): ErrorFields {
  if (!body || typeof body !== "object") return { message: text(body) };
  const { detail, msg, message, error } = body as { detail?: unknown; msg?: unknown; message?: unknown; error?: unknown };
  const fromDetail = Array.isArray(detail) ? (detail[0] as { msg?: unknown } | undefined)?.msg : detail;
  return { message: text(msg) ?? text(fromDetail) ?? text(message) ?? text(error), code: text(error) };
}
