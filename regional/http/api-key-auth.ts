import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { KeyStore } from "../auth/key-store.ts";
import type { AppEnv } from "./context.ts";

function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? apiKeyHeader?.trim();
}

/** Requires an active API key in `Authorization: Bearer` or `x-api-key`. */
export const apiKeyAuth = (keys: KeyStore): MiddlewareHandler<AppEnv> =>
  async function apiKeyAuth(c, next) {
    const key = presentedKey(c.req.header("authorization"), c.req.header("x-api-key"));
    if (!key) throw new GatewayError("invalid_api_key", { message: "No API key: send it as 'Authorization: Bearer <key>'." });
    const record = await keys.verify(key);
    if (!record) throw new GatewayError("invalid_api_key", { message: "The API key is not valid." });
    c.set("auth", record);
    await next();
  };
