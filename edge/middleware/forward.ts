import type { MiddlewareHandler } from "hono";
import { identityHeaders } from "../../shared/signing.ts";
import type { AppEnv } from "../env.ts";
import { callOrigin } from "../regional-client.ts";
import { settingsOf } from "../settings.ts";

/** Answers the request with the regional origin's response, signed on the way out and streamed back. */
export const forward = (): MiddlewareHandler<AppEnv> =>
  async function forward(c) {
    const settings = settingsOf(c.env);
    const key = c.get("key");
    return await callOrigin(c.req.raw, {
      origin: settings.regionalOrigin,
      timeoutMs: settings.originTimeoutMs,
      requestId: c.get("requestId"),
      body: c.get("body"),
      signing: {
        secret: settings.signingSecret,
        vouched: { [identityHeaders.keyId]: key.key_id, [identityHeaders.keyPrefix]: key.prefix, [identityHeaders.tenantId]: key.tenant_id },
      },
    });
  };
