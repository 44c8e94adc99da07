import { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../../shared/error.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import type { KeyRecord } from "../../auth/key-store.ts";
import { auditDetail, auditedCommit } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";
import type { TenantStore } from "../../tenants/tenant-store.ts";
import { found, setLimitsBody } from "./tenants.ts";
import { keyView, limitsView } from "./views.ts";

export const createKeyBody = z.object({ name: z.string().trim().max(200).default("") });

// A key is shown once, in this answer; no cache or proxy may keep a copy.
const shownOnce = { "cache-control": "no-store" };

function newKeyView(key: string, record: KeyRecord, name: string, extra: Record<string, string> = {}) {
  return { object: "api_key", id: record.keyId, tenant_id: record.tenantId, name, prefix: record.prefix, status: "active", key, ...extra };
}

/** POST/GET /tenants/:id/keys, POST /keys/:id/rotate, POST /keys/:id/revoke, PATCH /keys/:id. */
export function keysRoute(deps: AppDeps, tenants: TenantStore): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post("/tenants/:id/keys", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.keyCreate, resource: `tenant:${c.req.param("id")}` });
      const body = await readJson(c, createKeyBody, deps.limits.maxBodyBytes);
      const tenant = await found(tenants, c.req.param("id"));
      audit.tenantId = tenant.id;
      if (tenant.status !== "active")
        throw new GatewayError("conflict", { message: `Tenant '${tenant.id}' is disabled; its keys would not work.` });
      const { key, record } = await deps.keys.create(
        tenant.id,
        body.name,
        undefined,
        auditedCommit(c, deps.audit, 201, (created) => ({
          resource: `api_key:${created.keyId}`,
          metadata: { prefix: created.prefix, name: body.name },
        })),
      );
      return c.json(newKeyView(key, record, body.name), 201, shownOnce);
    })
    .get("/tenants/:id/keys", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.keyList, resource: `tenant:${c.req.param("id")}` });
      const tenant = await found(tenants, c.req.param("id"));
      audit.tenantId = tenant.id;
      const keys = await deps.keys.list(tenant.id);
      return c.json({ object: "list", data: keys.map(keyView) });
    })
    .post("/keys/:id/rotate", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.keyRotate, resource: `api_key:${c.req.param("id")}` });
      const rotated = await deps.keys.rotate(
        c.req.param("id"),
        auditedCommit(c, deps.audit, 201, ({ record, replaced }) => ({
          tenantId: record.tenantId,
          metadata: { replaced: replaced.id, replaced_prefix: replaced.prefix, new_key: record.keyId, prefix: record.prefix },
        })),
      );
      if (!rotated) throw notFound(c.req.param("id"));
      const { key, record, replaced } = rotated;
      await deps.invalidateEdgeKey?.(replaced.keyHash);
      return c.json(newKeyView(key, record, replaced.name, { replaces: replaced.id }), 201, shownOnce);
    })
    .post("/keys/:id/revoke", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.keyRevoke, resource: `api_key:${c.req.param("id")}` });
      const revoked = await deps.keys.revoke(
        c.req.param("id"),
        auditedCommit(c, deps.audit, 200, (key) => ({ tenantId: key.tenantId, metadata: { prefix: key.prefix } })),
      );
      if (!revoked) throw notFound(c.req.param("id"));
      await deps.invalidateEdgeKey?.(revoked.keyHash);
      return c.json(keyView(revoked));
    })
    .patch("/keys/:id", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.keyLimits, resource: `api_key:${c.req.param("id")}` });
      const change = await readJson(c, setLimitsBody, deps.limits.maxBodyBytes);
      const changed = await deps.keys.setLimits(
        c.req.param("id"),
        change,
        auditedCommit(c, deps.audit, 200, ({ before, after }) => ({
          tenantId: after.tenantId,
          metadata: { prefix: after.prefix, before: limitsView(before.limits), after: limitsView(after.limits) },
        })),
      );
      if (!changed) throw notFound(c.req.param("id"));
      await deps.invalidateEdgeKey?.(changed.after.keyHash);
      return c.json(keyView(changed.after));
    });
}

function notFound(id: string): GatewayError {
  return new GatewayError("not_found", { message: `No API key '${id}'.`, param: "id" });
}
