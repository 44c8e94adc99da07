import type { JsonValue } from "../../shared/canonical-json.ts";
import type { Sql } from "../db/index.ts";

export interface AuditFilter {
  region: string;
  actorType?: string;
  actorId?: string;
  action?: string;
  resource?: string;
  result?: string;
  tenantId?: string;
  requestId?: string;
  since?: Date;
  until?: Date;
}

export interface AuditEntry {
  seq: number;
  event_id: string;
  region: string;
  occurred_at: string;
  actor: { type: string; id: string };
  action: string;
  resource: string;
  result: string;
  tenant_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: { [key: string]: JsonValue };
  prev_hash: string;
  hash: string;
}

interface Row {
  seq: string;
  event_id: string;
  region: string;
  occurred_at: string;
  actor_type: string;
  actor_id: string;
  action: string;
  resource: string;
  result: string;
  tenant_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: { [key: string]: JsonValue };
  prev_hash: Buffer;
  hash: Buffer;
}

/** Newest first; `beforeSeq` continues a listing after its last entry. Reads `limit + 1` rows to know whether more follow. */
export async function queryAudit(
  sql: Sql,
  filter: AuditFilter,
  limit: number,
  beforeSeq?: number,
): Promise<{ entries: AuditEntry[]; more: boolean }> {
  const optional = (value: unknown, fragment: () => ReturnType<Sql>) => (value === undefined ? sql`` : fragment());
  const rows = await sql<Row[]>`
    select seq, event_id, region, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
           actor_type, actor_id, action, resource, result, tenant_id, ip, user_agent, request_id, metadata, prev_hash, hash
    from audit_log
    where region = ${filter.region}
      ${optional(beforeSeq, () => sql`and seq < ${beforeSeq ?? 0}`)}
      ${optional(filter.actorType, () => sql`and actor_type = ${filter.actorType ?? ""}`)}
      ${optional(filter.actorId, () => sql`and actor_id = ${filter.actorId ?? ""}`)}
      ${optional(filter.action, () => sql`and action = ${filter.action ?? ""}`)}
      ${optional(filter.resource, () => sql`and resource = ${filter.resource ?? ""}`)}
      ${optional(filter.result, () => sql`and result = ${filter.result ?? ""}`)}
      ${optional(filter.tenantId, () => sql`and tenant_id = ${filter.tenantId ?? ""}`)}
      ${optional(filter.requestId, () => sql`and request_id = ${filter.requestId ?? ""}`)}
      ${optional(filter.since, () => sql`and occurred_at >= ${filter.since ?? new Date(0)}`)}
      ${optional(filter.until, () => sql`and occurred_at < ${filter.until ?? new Date(0)}`)}
    order by seq desc
    limit ${limit + 1}`;
  return { entries: rows.slice(0, limit).map(entry), more: rows.length > limit };
}

function entry(row: Row): AuditEntry {
  return {
    seq: Number(row.seq),
    event_id: row.event_id,
    region: row.region,
    occurred_at: row.occurred_at,
    actor: { type: row.actor_type, id: row.actor_id },
    action: row.action,
    resource: row.resource,
    result: row.result,
    tenant_id: row.tenant_id,
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    metadata: row.metadata,
    prev_hash: row.prev_hash.toString("hex"),
    hash: row.hash.toString("hex"),
  };
}
