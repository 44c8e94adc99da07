import { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../../shared/error.ts";
import { priorities } from "../../admission/priority.ts";
import type { PriorityStore } from "../../admission/priority-store.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { auditDetail, auditedCommit } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";

const tenantPriority = z.strictObject({ priority: z.enum(priorities) });
/** A key's null hands it back to its tenant's priority. */
const keyPriority = z.strictObject({ priority: z.enum(priorities).nullable() });

/** `PUT /tenants/:id/priority` and `PUT /keys/:id/priority`: which requests queues serve first, audited with the change. */
export function prioritiesRoute(deps: AppDeps, store: PriorityStore): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .put("/tenants/:id/priority", async (c) => {
      const id = c.req.param("id");
      Object.assign(auditDetail(c), { action: auditActions.tenantPriority, resource: `tenant:${id}` });
      const { priority } = await readJson(c, tenantPriority, deps.limits.maxBodyBytes);
      const changed = await store.setTenant(
        id,
        priority,
        auditedCommit(c, deps.audit, 200, (change) => ({
          tenantId: change.tenantId,
          metadata: { before: change.before, after: change.after },
        })),
      );
      if (!changed) throw new GatewayError("not_found", { message: `No tenant '${id}'.`, param: "id" });
      return c.json({ object: "tenant_priority", tenant_id: id, priority: changed.after, before: changed.before });
    })
    .put("/keys/:id/priority", async (c) => {
      const id = c.req.param("id");
      Object.assign(auditDetail(c), { action: auditActions.keyPriority, resource: `api_key:${id}` });
      const { priority } = await readJson(c, keyPriority, deps.limits.maxBodyBytes);
      const changed = await store.setKey(
        id,
        priority,
        auditedCommit(c, deps.audit, 200, (change) => ({
          tenantId: change.tenantId,
          metadata: { before: change.before, after: change.after },
        })),
      );
      if (!changed) throw new GatewayError("not_found", { message: `No API key '${id}'.`, param: "id" });
      return c.json({ object: "key_priority", key_id: id, tenant_id: changed.tenantId, priority: changed.after, before: changed.before });
    });
}
