import type { Context, MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { CommitHook } from "../audit/commit-hook.ts";
import type { AuditInput, AuditResult } from "../audit/event.ts";
import type { AuditLog } from "../audit/writer.ts";
import { clientAddress } from "./client-ip.ts";
import type { AppEnv, AdminAuditDetail } from "./context.ts";

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

/** The audit event of an admin request that answered (or will answer) `status`. */
function adminEvent(c: Context<AppEnv>, detail: AdminAuditDetail, status: number, extra: Record<string, unknown> = {}): AuditInput {
  const address = clientAddress(c);
  return {
    actorType: "admin",
    actorId: c.get("admin")?.actorId ?? "admin:unknown",
    action: detail.action,
    resource: detail.resource,
    result: resultOf(status),
    tenantId: detail.tenantId,
    ip: address.client,
    userAgent: c.req.header("user-agent") ?? null,
    requestId: c.get("requestId"),
    // The peer beside the client address, and any forwarded claim: an address a proxy vouched for can be checked against them.
    metadata: {
      ...detail.metadata,
      method: c.req.method,
      path: c.req.path,
      status,
      ...extra,
      peer: address.peer,
      ...(address.claimed ? { forwarded_for: address.claimed } : {}),
    },
  };
}

/**
 * For a handler whose action changes the database: a hook for the store to run as the last
 * step of the change's transaction, which fills in the audit detail from what the change
 * came to (`describe`) and writes the event in that same transaction. The change and its
 * event then commit together or not at all — a crash after the commit cannot lose the
 * event, and an event that cannot be written undoes the change. `status` is what the handler
 * answers once the transaction committed.
 */
export function auditedCommit<T>(
  c: Context<AppEnv>,
  audit: AuditLog,
  status: number,
  describe: (result: T) => Partial<Pick<AdminAuditDetail, "resource" | "tenantId" | "metadata">>,
): CommitHook<T> {
  return async (tx, result) => {
    const detail = auditDetail(c);
    Object.assign(detail, describe(result));
    detail.committedEventId = await audit.appendIn(tx, adminEvent(c, detail, status));
  };
}

/**
 * Audits every admin request, success or failure, and answers only once its event is
 * durable (in Postgres, or fsynced to the journal). Handlers name the action and resource
 * through `auditDetail(c)`; without that, `admin.request` and the path stand in. A change
 * whose event was committed with it (`auditedCommit`) is answered with that event; should
 * the request still fail after, the failure is audited too. When even the journal fails,
 * the answer is a 503: an admin action is never acknowledged unaudited.
 */
export const adminAudit = (audit: AuditLog): MiddlewareHandler<AppEnv> =>
  async function adminAudit(c, next) {
    const detail: AdminAuditDetail = { action: "admin.request", resource: c.req.path, tenantId: null, metadata: {} };
    c.set("auditDetail", detail);
    await next();

    const status = c.res.status;
    if (detail.committedEventId && status < 400 && !c.error) {
      c.header(auditIdHeader, detail.committedEventId);
      return;
    }
    const error = c.error instanceof GatewayError ? c.error.code : c.error ? "internal_error" : undefined;
    // The change's transaction may have committed before the failure (or its commit may be in doubt): name its event.
    const committed = detail.committedEventId ? { change_event: detail.committedEventId } : {};
    try {
      const id = await audit.appendDurable(adminEvent(c, detail, status, { ...(error ? { error } : {}), ...committed }));
      c.header(auditIdHeader, id);
    } catch (cause) {
      const failure = new GatewayError("unavailable", {
        message: "The action could not be recorded in the audit log; check its state before retrying.",
        cause,
      });
      const requestId = c.get("requestId");
      c.res = new Response(JSON.stringify(failure.toBody(requestId)), {
        status: failure.status,
        headers: { "content-type": "application/json", "x-request-id": requestId },
      });
    }
  };
