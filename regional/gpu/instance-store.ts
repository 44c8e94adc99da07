import type { CreateGpuInstanceRequest, GpuInstance, GpuInstanceStatus, GpuInstanceTransition, GpuOffer, GpuProvider } from "../../shared/contract/gpu.ts";
import type { Sql, TransactionSql } from "../db/index.ts";

export interface InstanceRow {
  id: string;
  tenant_id: string;
  status: GpuInstanceStatus;
  provider: GpuProvider | null;
  provider_instance_id: string | null;
  request: CreateGpuInstanceRequest;
  offer: GpuOffer | null;
  failure: string | null;
  created_at: Date;
  updated_at: Date;
}

interface EventRow {
  from_status: GpuInstanceStatus | null;
  to_status: GpuInstanceStatus;
  reason: string;
  at: Date;
}

/** Inserts a new instance as pending, with its first event, in the caller's transaction. */
export async function insertPendingInstance(tx: TransactionSql, tenantId: string, id: string, request: CreateGpuInstanceRequest): Promise<void> {
  await tx`insert into gpu_instances (id, tenant_id, status, request) values (${id}, ${tenantId}, 'pending', ${JSON.stringify(request)}::text::jsonb)`;
  await tx`insert into gpu_instance_events (instance_id, tenant_id, from_status, to_status, reason) values (${id}, ${tenantId}, null, 'pending', 'requested')`;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant's instance, or undefined: another tenant's instance is as absent as a missing one. */
export async function selectInstance(sql: Sql | TransactionSql, tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<InstanceRow | undefined> {
  if (!uuid.test(id)) return undefined;
  const lock = options.forUpdate ? sql`for update` : sql``;
  const [row] = await sql<InstanceRow[]>`select * from gpu_instances where id = ${id} and tenant_id = ${tenantId} ${lock}`;
  return row;
}

export async function selectInstances(sql: Sql, tenantId: string, limit: number): Promise<InstanceRow[]> {
  return await sql<InstanceRow[]>`select * from gpu_instances where tenant_id = ${tenantId} order by created_at desc, id desc limit ${limit}`;
}

export async function selectTransitions(sql: Sql | TransactionSql, tenantId: string, id: string): Promise<GpuInstanceTransition[]> {
  const rows = await sql<EventRow[]>`select from_status, to_status, reason, at from gpu_instance_events where instance_id = ${id} and tenant_id = ${tenantId} order by id`;
  return rows.map((row) => ({ from: row.from_status, to: row.to_status, reason: row.reason, at: row.at.toISOString() }));
}

/** The API's view of a row. */
export function instanceView(row: InstanceRow, transitions?: GpuInstanceTransition[]): GpuInstance {
  return {
    id: row.id,
    object: "gpu.instance",
    provider: row.provider,
    provider_instance_id: row.provider_instance_id,
    status: row.status,
    offer: row.offer,
    image: row.request.image,
    failure: row.failure,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(transitions ? { transitions } : {}),
  };
}
