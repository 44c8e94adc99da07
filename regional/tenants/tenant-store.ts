import { randomUUID } from "node:crypto";
import type { RateLimits } from "../../shared/contract/keys.ts";
import type { CommitHook } from "../audit/commit-hook.ts";
import type { Db } from "../db/index.ts";
import { limitAssignments, type RateLimitChange } from "./rate-limits.ts";

export interface Tenant {
  id: string;
  name: string;
  status: "active" | "disabled";
  /** What the edge allows across all the tenant's keys together. */
  limits: RateLimits;
  createdAt: Date;
}

export interface TenantPage {
  tenants: Tenant[];
  /** Pass as `after` for the next page; null on the last one. */
  next: TenantCursor | null;
}

/** Position in the newest-first listing: creation time (as Postgres text, exact to the microsecond) and id. */
export interface TenantCursor {
  createdAt: string;
  id: string;
}

/**
 * Changes take a `CommitHook`, run in their transaction once they are done (and only when
 * they changed something): what it writes commits with the change or not at all.
 */
export interface TenantStore {
  create(name: string, onCommit?: CommitHook<Tenant>): Promise<Tenant>;
  get(id: string): Promise<Tenant | null>;
  list(options: { status?: Tenant["status"]; limit: number; after?: TenantCursor }): Promise<TenantPage>;
  /** Disables a tenant (its keys stop working); null for no such tenant. Disabling twice is harmless. */
  disable(id: string, onCommit?: CommitHook<Tenant>): Promise<Tenant | null>;
  /** Changes the tenant's rate limits; the tenant before and after, or null for no such tenant. */
  setLimits(
    id: string,
    change: RateLimitChange,
    onCommit?: CommitHook<{ before: Tenant; after: Tenant }>,
  ): Promise<{ before: Tenant; after: Tenant } | null>;
}

interface TenantRow {
  id: string;
  name: string;
  status: Tenant["status"];
  rpm_limit: number;
  tpm_limit: number;
  created_at: Date;
  created_at_text: string;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const tenant = (row: TenantRow): Tenant => ({
  id: row.id,
  name: row.name,
  status: row.status,
  limits: { rpm: row.rpm_limit, tpm: row.tpm_limit },
  createdAt: row.created_at,
});

export function createTenantStore(db: Db): TenantStore {
  return {
    async create(name, onCommit) {
      // The id is chosen here so that the insert counts as the new tenant's own write.
      const id = randomUUID();
      return await db.transaction(id, async (tx) => {
        const [row] = await tx<
          TenantRow[]
        >`insert into tenants (id, name) values (${id}, ${name}) returning id, name, status, rpm_limit, tpm_limit, created_at`;
        if (!row) throw new Error("tenant insert returned no row");
        await onCommit?.(tx, tenant(row));
        return tenant(row);
      });
    },

    async get(id) {
      if (!uuid.test(id)) return null;
      const [row] = await (await db.read(id))<
        TenantRow[]
      >`select id, name, status, rpm_limit, tpm_limit, created_at from tenants where id = ${id}`;
      return row ? tenant(row) : null;
    },

    async list({ status, limit, after }) {
      // Across tenants: any node in rotation, so a tenant created a moment ago may be missing for up to the lag bound.
      const sql = await db.read();
      const rows = await sql<TenantRow[]>`
        select id, name, status, rpm_limit, tpm_limit, created_at, created_at::text as created_at_text from tenants
        where true
          ${status ? sql`and status = ${status}` : sql``}
          ${after ? sql`and (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql``}
        order by created_at desc, id desc
        limit ${limit + 1}`;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { tenants: page.map(tenant), next: rows.length > limit && last ? { createdAt: last.created_at_text, id: last.id } : null };
    },

    async disable(id, onCommit) {
      if (!uuid.test(id)) return null;
      return await db.transaction(id, async (tx) => {
        const [row] = await tx<
          TenantRow[]
        >`update tenants set status = 'disabled' where id = ${id} returning id, name, status, rpm_limit, tpm_limit, created_at`;
        if (!row) return null;
        await onCommit?.(tx, tenant(row));
        return tenant(row);
      });
    },

    async setLimits(id, change, onCommit) {
      if (!uuid.test(id)) return null;
      return await db.transaction(id, async (tx) => {
        // Locked, so the old values in the audit event are the ones this update replaced.
        const [old] = await tx<
          TenantRow[]
        >`select id, name, status, rpm_limit, tpm_limit, created_at from tenants where id = ${id} for update`;
        if (!old) return null;
        const [row] = await tx<TenantRow[]>`
          update tenants set ${limitAssignments(tx, change)} where id = ${id}
          returning id, name, status, rpm_limit, tpm_limit, created_at`;
        if (!row) throw new Error("tenant update returned no row");
        const changed = { before: tenant(old), after: tenant(row) };
        await onCommit?.(tx, changed);
        return changed;
      });
    },
  };
}
