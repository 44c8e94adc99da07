import { Hono, type Context } from "hono";
import { GatewayError } from "../../../shared/error.ts";
import type { BudgetScope } from "../../../shared/contract/budgets.ts";
import { parseOrThrow } from "../../../shared/validation.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { budgetPeriod, budgetSettingBody } from "../../budgets/budget-setting.ts";
import { createBudgetStore, type BudgetOwner, type BudgetStore, type StoredBudget } from "../../budgets/budget-store.ts";
import { auditDetail, auditedCommit } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";
import { forgetKeysOf } from "./tenants.ts";

type Ctx = Context<AppEnv>;

/** How the admin API shows a budget: the fields the edge gets, and whose it is. */
export function budgetView(budget: StoredBudget) {
  return {
    object: "budget",
    id: budget.id,
    scope: budget.scope,
    tenant_id: budget.tenantId,
    key_id: budget.scope === "key" ? budget.ownerId : null,
    period: budget.period,
    unit: budget.unit,
    limit: budget.limit,
    softThreshold: budget.softThreshold,
    timeZone: budget.timeZone,
    updated_at: budget.updatedAt.toISOString(),
  };
}

const paths: Record<BudgetScope, { prefix: string; resource: string; noun: string }> = {
  tenant: { prefix: "/tenants", resource: "tenant", noun: "tenant" },
  key: { prefix: "/keys", resource: "api_key", noun: "API key" },
};

/**
 * `PUT`/`DELETE /tenants/:id/budgets/:period` and `/keys/:id/budgets/:period`, `GET
 * /tenants/:id/budgets` and `/keys/:id/budgets`. Each change is audited in its own
 * transaction and drops the cached key records it changes, here and at the edge.
 */
export function budgetsRoute(deps: AppDeps): Hono<AppEnv> {
  const store = createBudgetStore(deps.db);
  const app = new Hono<AppEnv>();
  for (const scope of ["tenant", "key"] as const) {
    const { prefix } = paths[scope];
    app.get(`${prefix}/:id/budgets`, async (c) => {
      const { owner, tenantId } = await ownerOf(c, store, scope, auditActions.budgetList);
      const budgets = await store.list(owner, tenantId);
      return c.json({ object: "list", data: budgets.map(budgetView) });
    });
    app.put(`${prefix}/:id/budgets/:period`, async (c) => {
      const { owner, tenantId } = await ownerOf(c, store, scope, auditActions.budgetSet);
      const period = parseOrThrow(budgetPeriod, c.req.param("period"));
      const setting = await readJson(c, budgetSettingBody, deps.limits.maxBodyBytes);
      const { after } = await store.set(
        owner,
        tenantId,
        period,
        setting,
        auditedCommit(c, deps.audit, 200, (change) => ({
          metadata: {
            scope,
            period,
            before: change.before && budgetView(change.before),
            after: budgetView(change.after),
          },
        })),
      );
      await forget(deps, owner, tenantId);
      return c.json(budgetView(after));
    });
    app.delete(`${prefix}/:id/budgets/:period`, async (c) => {
      const { owner, tenantId } = await ownerOf(c, store, scope, auditActions.budgetDeleted);
      const period = parseOrThrow(budgetPeriod, c.req.param("period"));
      const removed = await store.remove(
        owner,
        tenantId,
        period,
        auditedCommit(c, deps.audit, 200, (budget) => ({ metadata: { scope, period, before: budgetView(budget) } })),
      );
      if (!removed) throw new GatewayError("not_found", { message: `The ${paths[scope].noun} '${owner.id}' has no ${period} budget.` });
      await forget(deps, owner, tenantId);
      return c.json({ ...budgetView(removed), deleted: true });
    });
  }
  return app;
}

/** Names the action and its owner in the audit detail; 404 when the tenant or key does not exist. */
async function ownerOf(c: Ctx, store: BudgetStore, scope: BudgetScope, action: string): Promise<{ owner: BudgetOwner; tenantId: string }> {
  const owner = { scope, id: c.req.param("id") ?? "" };
  const audit = auditDetail(c);
  Object.assign(audit, { action, resource: `${paths[scope].resource}:${owner.id}` });
  const tenantId = await store.tenantOf(owner);
  if (!tenantId) throw new GatewayError("not_found", { message: `No ${paths[scope].noun} '${owner.id}'.`, param: "id" });
  audit.tenantId = tenantId;
  return { owner, tenantId };
}

/** Key records carry budgets: the edge must read them again (a tenant's: every key's record). */
async function forget(deps: AppDeps, owner: BudgetOwner, tenantId: string): Promise<void> {
  if (owner.scope === "tenant") return await forgetKeysOf(deps, tenantId);
  const key = (await deps.keys.list(tenantId)).find((candidate) => candidate.id === owner.id);
  if (key) await deps.invalidateEdgeKey?.(key.keyHash);
}
