import type { Context, MiddlewareHandler } from "hono";
import { GatewayError, errorResponse } from "../../shared/error.ts";
import { sha256Hex } from "../../shared/signing.ts";
import { looksLikeApiKey, presentedKey } from "../../shared/api-key.ts";
import type { AppEnv } from "../context.ts";
import { cachedKeyRecord, fetchKeyRecord, keyLookupUnderWay } from "../keys/key-records.ts";
import { countAuthFailure, mayTryKey, type AuthFailureCheck } from "../limits/limiter.ts";
import { rateLimitHeaders } from "../limits/rate-limit-headers.ts";
import { count } from "../metrics/isolate.ts";

/**
 * Requires an active API key (`Authorization: Bearer` or `x-api-key`) and puts its record
 * on the context as `key`. Keys are compared by SHA-256 only. Every malformed, unknown or
 * inactive key counts against the client IP; past AUTH_FAILURES_PER_MINUTE the IP gets
 * 429, and may not try keys this location has not seen until its allowance recovers.
 */
export const auth = (): MiddlewareHandler<AppEnv> =>
  async function auth(c, next) {
    const context = c.get("requestContext");
    const key = presentedKey((name) => c.req.raw.headers.get(name));
    if (key === undefined) {
      count("breakwater_edge_auth_failures_total", { reason: "missing" });
      throw new GatewayError("invalid_api_key", { message: "No API key: send it as 'Authorization: Bearer <key>'." });
    }
    const ip = c.req.header("cf-connecting-ip") ?? "unknown";
    if (!looksLikeApiKey(key)) return refuse(c, "malformed", await countAuthFailure(context.limiters, ip));

    const keySha256 = await sha256Hex(key);
    let record = await cachedKeyRecord(context.settings, keySha256);
    if (record === undefined) {
      // A key this location has not seen costs a lookup: an IP that keeps guessing does not get one.
      // Joining a lookup already under way costs none, so it asks no limiter either.
      if (!keyLookupUnderWay(keySha256)) {
        const allowance = await mayTryKey(context.limiters, ip);
        if (allowance.limited || allowance.unavailable) return refuse(c, allowance.limited ? "limited" : "limiter_unavailable", allowance);
      }
      record = await fetchKeyRecord(context, keySha256);
    }
    if (record?.status !== "active") return refuse(c, record ? record.status : "unknown", await countAuthFailure(context.limiters, ip));

    c.set("key", record);
    await next();
  };

/** 401 for a bad key, or 429 once the IP is past its allowance (503 if that cannot be told and the policy fails closed). */
function refuse(c: Context<AppEnv>, reason: string, check: AuthFailureCheck): Response {
  count("breakwater_edge_auth_failures_total", { reason });
  const error = check.limited
    ? new GatewayError("rate_limited", {
        message: "Too many failed authentications from this address.",
        retryAfterS: Math.max(1, Math.ceil(check.retryAfterMs / 1000)),
      })
    : check.unavailable
      ? new GatewayError("unavailable", { message: "API keys cannot be checked right now.", retryAfterS: 1 })
      : new GatewayError("invalid_api_key", { message: "The API key is not valid." });
  const response = errorResponse(error, c.get("requestId"), c.get("traceId"));
  for (const [name, value] of Object.entries(rateLimitHeaders(check.quotas, check.levels))) response.headers.set(name, value);
  return response;
}
