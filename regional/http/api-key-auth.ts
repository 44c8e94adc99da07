import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AuthFailureAuditor } from "../audit/auth-failures.ts";
import { auditActions } from "../audit/event.ts";
import { looksLikeApiKey, presentedKey } from "../../shared/api-key.ts";
import { keyPrefix } from "../auth/api-key.ts";
import type { KeyStore } from "../auth/key-store.ts";
import { clientAddress } from "./client-ip.ts";
import type { AppEnv } from "./context.ts";

/**
 * Requires an active API key in `Authorization: Bearer` or `x-api-key`. Failures go to the
 * audit log through `failures`, which samples them.
 */
export const apiKeyAuth = (keys: KeyStore, failures?: AuthFailureAuditor): MiddlewareHandler<AppEnv> =>
  async function apiKeyAuth(c, next) {
    const key = presentedKey((name) => c.req.header(name));
    if (!key) {
      failures?.record(c, {
        actorType: "anonymous",
        actorId: "",
        action: auditActions.authFailure,
        reason: "missing_key",
        address: clientAddress(c),
      });
      throw new GatewayError("invalid_api_key", { message: "No API key: send it as 'Authorization: Bearer <key>'." });
    }
    const record = await keys.verify(key, c.get("trace"));
    if (!record) {
      // Only the prefix, never the rest: it names the key without revealing it.
      const named = looksLikeApiKey(key);
      failures?.record(c, {
        actorType: named ? "key" : "anonymous",
        actorId: named ? keyPrefix(key) : "",
        action: auditActions.authFailure,
        reason: named ? "invalid_key" : "malformed_key",
        address: clientAddress(c),
      });
      throw new GatewayError("invalid_api_key", { message: "The API key is not valid." });
    }
    c.set("auth", record);
    await next();
  };
