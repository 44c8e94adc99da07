import type { Context, MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AuditResult } from "../audit/event.ts";
import type { AuditLog } from "../audit/writer.ts";
import { clientAddress } from "./client-ip.ts";
import type { AppEnv } from "./context.ts";

/** What a handler tells the audit middleware about the action it performs. */
export interface AdminAuditDetail {
  action: string;
  resource: string;
  tenantId: string | null;
  metadata: Record<string, unknown>;
}

/** The header carrying the id of the audit event an admin response was recorded as. */
export const auditIdHeader = "x-breakwater-audit-id";

/** The detail of the current admin action, for its handler to fill in. */
export function auditDetail(c: Context<AppEnv>): AdminAuditDetail {
  return c.get("auditDetail");
}

function resultOf(status: number): AuditResult {
  if (status < 400) return "success";
  return status === 401 || status === 403 ? "denied" : "failure";
}

/**
 * Audits every admin request, success or failure, and answers only once its event is
 * durable (in Postgres, or fsynced to the journal). Handlers name the action and resource
 * through `auditDetail(c)`; without that, `admin.request` and the path stand in. When even the
 * journal fails, the answer is a 503: an admin action is never acknowledged unaudited.
 */
export const adminAudit = (audit: AuditLog): MiddlewareHandler<AppEnv> =>
  async function adminAudit(c, next) {
    const detail: AdminAuditDetail = { action: "admin.request", resource: c.req.path, tenantId: null, metadata: {} };
    c.set("auditDetail", detail);
    await next();

    const status = c.res.status;
    const address = clientAddress(c);
    const error = c.error instanceof GatewayError ? c.error.code : c.error ? "internal_error" : undefined;
    try {
      const id = await audit.appendDurable({
        actorType: "admin",
        actorId: c.get("admin")?.actorId ?? "admin:unknown",
        action: detail.action,
        resource: detail.resource,
        result: resultOf(status),
        tenantId: detail.tenantId,
        ip: address.forwarded ?? address.peer,
        userAgent: c.req.header("user-agent") ?? null,
        requestId: c.get("requestId"),
        metadata: { ...detail.metadata, method: c.req.method, path: c.req.path, status, ...(error ? { error } : {}) },
      });
      c.header(auditIdHeader, id);
    } catch (cause) {
      const failure = new GatewayError("unavailable", { message: "The action could not be recorded in the audit log; check its state before retrying.", cause });
      const requestId = c.get("requestId");
      c.res = new Response(JSON.stringify(failure.toBody(requestId)), { status: failure.status, headers: { "content-type": "application/json", "x-request-id": requestId } });
    }
  };
