import type { Budget, BudgetPeriod, BudgetScope, BudgetUnit } from "../../shared/contract/budgets.ts";
import type { CommitHook } from "../audit/commit-hook.ts";
import type { Db, Sql, TransactionSql } from "../db/index.ts";

/** Whose budget: a tenant's (all its keys together) or one key's. */
export interface BudgetOwner {
  scope: BudgetScope;
  id: string;
}

/** What a PUT sets. */
export interface BudgetSetting {
  unit: BudgetUnit;
  limit: number;
  softThreshold: number | null;
  timeZone: string;
}

export interface StoredBudget extends Budget {
  tenantId: string;
  ownerId: string;
  updatedAt: Date;
}

export interface BudgetStore {
  /** The tenant the owner belongs to (itself, for a tenant), from the primary; null for no such tenant or key. */
  tenantOf(owner: BudgetOwner): Promise<string | null>;
  list(owner: BudgetOwner, tenantId: string): Promise<StoredBudget[]>;
  /** Sets the owner's budget for `period`; the one it replaced (null: none) and the new one. */
  set(
    owner: BudgetOwner,
    tenantId: string,
    period: BudgetPeriod,
    setting: BudgetSetting,
    onCommit?: CommitHook<{ before: StoredBudget | null; after: StoredBudget }>,
  ): Promise<{ before: StoredBudget | null; after: StoredBudget }>;
  /** Removes the owner's budget for `period`; null when it had none. */
  remove(owner: BudgetOwner, tenantId: string, period: BudgetPeriod, onCommit?: CommitHook<StoredBudget>): Promise<StoredBudget | null>;
}

interface BudgetRow {
  id: string;
  tenant_id: string;
  scope: BudgetScope;
  owner_id: string;
  period: BudgetPeriod;
  unit: BudgetUnit;
  limit_amount: string;
  soft_threshold: string | null;
  time_zone: string;
  updated_at: Date;
}

const stored = (row: BudgetRow): StoredBudget => ({
  id: row.id,
  scope: row.scope,
  period: row.period,
  unit: row.unit,
  limit: Number(row.limit_amount),
  softThreshold: row.soft_threshold === null ? null : Number(row.soft_threshold),
  timeZone: row.time_zone,
  tenantId: row.tenant_id,
  ownerId: row.owner_id,
  updatedAt: row.updated_at,
});

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Budgets in Postgres, one per owner and period. Changes are written as the tenant's (read
 * back at once wherever the tenant reads), and each takes a hook run in its transaction.
 */
export function createBudgetStore(db: Db): BudgetStore {
  const columns = (sql: Sql | TransactionSql) =>
    sql`id, tenant_id, scope, owner_id, period, unit, limit_amount::text, soft_threshold::text, time_zone, updated_at`;

  return {
    async tenantOf(owner) {
      if (!uuid.test(owner.id)) return null;
      const [row] =
        owner.scope === "tenant"
          ? await db.write<{ tenant_id: string }[]>`select id as tenant_id from tenants where id = ${owner.id}`
          : await db.write<{ tenant_id: string }[]>`select tenant_id from api_keys where id = ${owner.id}`;
      return row?.tenant_id ?? null;
    },

    async list(owner, tenantId) {
      const sql = await db.read(tenantId);
      const rows = await sql<BudgetRow[]>`
        select ${columns(sql)} from budgets where scope = ${owner.scope} and owner_id = ${owner.id} order by period`;
      return rows.map(stored);
    },

    async set(owner, tenantId, period, setting, onCommit) {
      return await db.transaction(tenantId, async (tx) => {
        const [old] = await tx<BudgetRow[]>`
          select ${columns(tx)} from budgets where scope = ${owner.scope} and owner_id = ${owner.id} and period = ${period} for update`;
        // A budget keeps its id (and so what the edge has counted against it) unless its unit changes.
        const [row] = await tx<BudgetRow[]>`
          insert into budgets (tenant_id, scope, owner_id, period, unit, limit_amount, soft_threshold, time_zone)
          values (${tenantId}, ${owner.scope}, ${owner.id}, ${period}, ${setting.unit}, ${String(setting.limit)}::numeric,
                  ${setting.softThreshold === null ? null : String(setting.softThreshold)}::numeric, ${setting.timeZone})
          on conflict (scope, owner_id, period) do update set
            id = case when budgets.unit = excluded.unit then budgets.id else excluded.id end,
            unit = excluded.unit, limit_amount = excluded.limit_amount, soft_threshold = excluded.soft_threshold,
            time_zone = excluded.time_zone, updated_at = now()
          returning ${columns(tx)}`;
        if (!row) throw new Error("budget upsert returned no row");
        const change = { before: old ? stored(old) : null, after: stored(row) };
        await onCommit?.(tx, change);
        return change;
      });
    },

    async remove(owner, tenantId, period, onCommit) {
      return await db.transaction(tenantId, async (tx) => {
        const [row] = await tx<BudgetRow[]>`
          delete from budgets where scope = ${owner.scope} and owner_id = ${owner.id} and period = ${period}
          returning ${columns(tx)}`;
        if (!row) return null;
        await onCommit?.(tx, stored(row));
        return stored(row);
      });
    },
  };
}
