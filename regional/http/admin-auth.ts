import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AuthFailureAuditor } from "../audit/auth-failures.ts";
import { auditActions } from "../audit/event.ts";
import { clientAddress } from "./client-ip.ts";
import type { AppEnv, AdminIdentity } from "./context.ts";

export interface AdminAuthOptions {
  /** The admin credential (ADMIN_API_KEY). Unset, every admin request is refused with 403. */
  adminKey: string | undefined;
  /** Where failed attempts are audited (sampled). */
  failures?: AuthFailureAuditor;
}

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

function presented(authorization: string | undefined, adminKeyHeader: string | undefined): string | undefined {
  return authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? adminKeyHeader?.trim();
}

/**
 * Requires the admin key in `Authorization: Bearer` or `x-admin-key`. It is a credential of
 * its own: tenant API keys never pass. Compared as SHA-256 digests in constant time, so
 * neither the key's content nor its length leaks through timing.
 */
export const adminAuth = (options: AdminAuthOptions): MiddlewareHandler<AppEnv> => {
  const expected = options.adminKey ? sha256(options.adminKey) : undefined;
  // A short fingerprint tells rotated admin keys apart in the audit log.
  const identity: AdminIdentity | undefined = expected ? { actorId: `admin:${expected.toString("hex").slice(0, 8)}` } : undefined;
  return async function adminAuth(c, next) {
    if (!expected || !identity) throw new GatewayError("admin_disabled");
    const key = presented(c.req.header("authorization"), c.req.header("x-admin-key"));
    if (!key || !timingSafeEqual(sha256(key), expected)) {
      options.failures?.record(c, {
        actorType: "anonymous",
        actorId: "",
        action: auditActions.adminAuthFailure,
        reason: key ? "invalid_admin_key" : "missing_admin_key",
        address: clientAddress(c),
      });
      throw new GatewayError("invalid_admin_key", {
        message: key ? "The admin key is not valid." : "An admin key is required: send it as 'Authorization: Bearer <admin key>'.",
      });
    }
    c.set("admin", identity);
    await next();
  };
};
