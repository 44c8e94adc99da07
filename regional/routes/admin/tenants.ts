import { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../../shared/error.ts";
import { parseOrThrow } from "../../../shared/validation.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { auditDetail, auditedCommit } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { decodeCursor, encodeCursor } from "../../http/cursor.ts";
import { readJson } from "../../http/json-body.ts";
import { pgTimestampText } from "../../http/pg-timestamp.ts";
import type { RateLimitChange } from "../../tenants/rate-limits.ts";
import type { TenantStore } from "../../tenants/tenant-store.ts";
import { limitsView, tenantView } from "./views.ts";

export const createTenantBody = z.object({ name: z.string().trim().min(1).max(200) });
export const listTenantsQuery = z.object({
  status: z.enum(["active", "disabled"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
// Checked field by field: a cursor that decodes but holds garbage must be a 400, never reach SQL.
const tenantCursor = z.strictObject({ createdAt: pgTimestampText, id: z.uuid() });

// Far above any real plan and inside the integer columns: a slipped digit is refused, not applied.
const maxLimits = { rpm: 1_000_000, tpm: 1_000_000_000 };
const limitField = (max: number) => z.int().min(1).max(max).nullable().optional();
const limitFields: readonly string[] = ["rpm_limit", "tpm_limit"];

/** PATCH /tenants/:id and /keys/:id: a positive integer sets a limit, null puts the default back. */
export const setLimitsBody = z
  .looseObject({ rpm_limit: limitField(maxLimits.rpm), tpm_limit: limitField(maxLimits.tpm) })
  // Checked here rather than by strictObject, whose error names no field.
  .superRefine((body, ctx) => {
    for (const key of Object.keys(body)) {
      if (!limitFields.includes(key))
        ctx.addIssue({ code: "custom", path: [key], message: "unknown field; only rpm_limit and tpm_limit can be set" });
    }
    if (body.rpm_limit === undefined && body.tpm_limit === undefined)
      ctx.addIssue({ code: "custom", path: [], message: "set rpm_limit, tpm_limit or both" });
  })
  .transform((body): RateLimitChange => ({ rpm: body.rpm_limit, tpm: body.tpm_limit }));

/** POST /tenants, GET /tenants, GET /tenants/:id, POST /tenants/:id/disable, PATCH /tenants/:id. */
export function tenantsRoute(deps: AppDeps, tenants: TenantStore): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post("/tenants", async (c) => {
      const audit = auditDetail(c);
      audit.action = auditActions.tenantCreate;
      const body = await readJson(c, createTenantBody, deps.limits.maxBodyBytes);
      const tenant = await tenants.create(
        body.name,
        auditedCommit(c, deps.audit, 201, (created) => ({
          resource: `tenant:${created.id}`,
          tenantId: created.id,
          metadata: { name: created.name },
        })),
      );
      return c.json(tenantView(tenant), 201);
    })
    .get("/tenants", async (c) => {
      auditDetail(c).action = auditActions.tenantList;
      const query = parseOrThrow(listTenantsQuery, c.req.query());
      const after = query.cursor ? decodeCursor(query.cursor, tenantCursor) : undefined;
      const page = await tenants.list({ status: query.status, limit: query.limit, after });
      return c.json({ object: "list", data: page.tenants.map(tenantView), next_cursor: page.next ? encodeCursor(page.next) : null });
    })
    .get("/tenants/:id", async (c) => {
      const audit = auditDetail(c);
      audit.action = auditActions.tenantGet;
      const tenant = await found(tenants, c.req.param("id"));
      Object.assign(audit, { resource: `tenant:${tenant.id}`, tenantId: tenant.id });
      return c.json(tenantView(tenant));
    })
    .post("/tenants/:id/disable", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.tenantDisable, resource: `tenant:${c.req.param("id")}` });
      const tenant = await tenants.disable(
        c.req.param("id"),
        auditedCommit(c, deps.audit, 200, (disabled) => ({ tenantId: disabled.id })),
      );
      if (!tenant) throw notFound(c.req.param("id"));
      await forgetKeysOf(deps, tenant.id);
      return c.json(tenantView(tenant));
    })
    .patch("/tenants/:id", async (c) => {
      const audit = auditDetail(c);
      Object.assign(audit, { action: auditActions.tenantLimits, resource: `tenant:${c.req.param("id")}` });
      const change = await readJson(c, setLimitsBody, deps.limits.maxBodyBytes);
      const changed = await tenants.setLimits(
        c.req.param("id"),
        change,
        auditedCommit(c, deps.audit, 200, ({ before, after }) => ({
          tenantId: after.id,
          metadata: { before: limitsView(before.limits), after: limitsView(after.limits) },
        })),
      );
      if (!changed) throw notFound(c.req.param("id"));
      await forgetKeysOf(deps, changed.after.id);
      return c.json(tenantView(changed.after));
    });
}

/** Drops the cached copies of the tenant's keys, here and at the edge: the edge's carry the tenant's status and limits. */
export async function forgetKeysOf(deps: AppDeps, tenantId: string): Promise<void> {
  deps.keys.forgetTenant(tenantId);
  if (deps.invalidateEdgeKey) for (const key of await deps.keys.list(tenantId)) await deps.invalidateEdgeKey(key.keyHash);
}

export async function found(tenants: TenantStore, id: string) {
  const tenant = await tenants.get(id);
  if (!tenant) throw notFound(id);
  return tenant;
}

function notFound(id: string): GatewayError {
  return new GatewayError("not_found", { message: `No tenant '${id}'.`, param: "id" });
}
