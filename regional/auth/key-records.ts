import type { Budget } from "../../shared/contract/budgets.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import type { Db, Sql } from "../db/index.ts";
import { authoritativeRead } from "./authoritative-read.ts";

interface KeyRecordRow {
  id: string;
  tenant_id: string;
  prefix: string;
  status: "active" | "revoked";
  tenant_status: "active" | "disabled";
  rpm_limit: number;
  tpm_limit: number;
  tenant_rpm_limit: number;
  tenant_tpm_limit: number;
  budgets: Budget[];
}

/**
 * The edge's view of a key, found by its SHA-256: tenant, status, limits and the budgets of
 * the key and of its tenant. Revoked keys and keys of disabled tenants are answered too
 * (with their status), so the edge can tell them from keys that never existed; null only
 * for a hash no key has. Read where no revocation can be missed (`authoritativeRead`): the
 * edge caches what this says.
 */
export async function findKeyRecord(db: Db, keyHash: Uint8Array): Promise<KeyRecord | null> {
  const hash = Buffer.from(keyHash);
  const find = async (sql: Sql) => {
    const [row] = await sql<KeyRecordRow[]>`
      select k.id, k.tenant_id, k.prefix, k.status, t.status as tenant_status,
             k.rpm_limit, k.tpm_limit, t.rpm_limit as tenant_rpm_limit, t.tpm_limit as tenant_tpm_limit,
             coalesce((
               select json_agg(json_build_object('id', b.id, 'scope', b.scope, 'period', b.period, 'unit', b.unit,
                 'limit', b.limit_amount, 'softThreshold', b.soft_threshold, 'timeZone', b.time_zone) order by b.scope, b.period)
               from budgets b
               where (b.scope = 'key' and b.owner_id = k.id) or (b.scope = 'tenant' and b.owner_id = k.tenant_id)
             ), '[]'::json) as budgets
      from api_keys k join tenants t on t.id = k.tenant_id
      where k.key_hash = ${hash}`;
    return row ?? null;
  };
  const row = await authoritativeRead(db, find, (found) => found?.tenant_id ?? null);
  if (!row) return null;
  return {
    key_id: row.id,
    tenant_id: row.tenant_id,
    prefix: row.prefix,
    status: row.status === "revoked" ? "revoked" : row.tenant_status === "disabled" ? "tenant_disabled" : "active",
    limits: { rpm: row.rpm_limit, tpm: row.tpm_limit },
    tenant_limits: { rpm: row.tenant_rpm_limit, tpm: row.tenant_tpm_limit },
    budgets: row.budgets,
  };
}
