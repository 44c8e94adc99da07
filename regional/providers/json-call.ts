import { GatewayError } from "../../shared/error.ts";
import { callUpstream, jsonBody, type Transport, type UpstreamResponse } from "./http.ts";
import type { CallContext } from "./types.ts";
import { retryAfterSeconds, upstreamErrorFrom } from "./upstream-error.ts";

export interface JsonCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON when present. */
  body?: unknown;
}

/** What an API's error body says, in its own shape: each adapter reads its own. */
export type ErrorFields = (body: unknown) => { message?: string; code?: string };

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** FastAPI's `{"detail": "..."}` or `{"detail": [{"msg": ...}]}`, and `{"message": "..."}`. */
export const detailFields: ErrorFields = (body) => {
  if (!body || typeof body !== "object") return {};
  const { detail, message } = body as { detail?: unknown; message?: unknown };
  const first = Array.isArray(detail) ? (detail[0] as { msg?: unknown } | undefined)?.msg : detail;
  return { message: text(first) ?? text(message) };
};

/**
 * A JSON call to a REST API (the GPU marketplaces). Errors map as for inference providers,
 * except that a 404 is a missing resource here, not an unknown model.
 */
export async function callJson<T>(provider: string, transport: Transport, call: JsonCall, context: CallContext, errorFields: ErrorFields = detailFields): Promise<T> {
  const headers = call.body === undefined ? { accept: "application/json", ...call.headers } : { accept: "application/json", "content-type": "application/json", ...call.headers };
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const toError = async (name: string, response: UpstreamResponse): Promise<GatewayError> => {
    const fields = errorFields(await response.json().catch(() => undefined));
    if (response.status === 404) return new GatewayError("not_found", { upstreamStatus: 404, message: `${name}: ${fields.message ?? "not found"}` });
    return upstreamErrorFrom(name, response.status, fields, retryAfterSeconds(response.header("retry-after")));
  };
  const response = await callUpstream(provider, transport, { method: call.method, url: call.url, headers, body }, context, toError);
  return await jsonBody<T>(provider, response, context);
}
