import type {
  CreateGpuInstanceRequest,
  GpuInstance,
  GpuInstanceStatus,
  GpuInstanceTransition,
  GpuOffer,
  GpuProvider,
} from "../../shared/contract/gpu.ts";
import type { Sql, TransactionSql } from "../db/index.ts";

export interface InstanceRow {
  id: string;
  tenant_id: string;
  status: GpuInstanceStatus;
  provider: GpuProvider | null;
  provider_instance_id: string | null;
  provider_status: string | null;
  /** What the instance carries at the marketplace (label.ts). */
  label: string;
  request: CreateGpuInstanceRequest;
  offer: GpuOffer | null;
  failure: string | null;
  created_at: Date;
  updated_at: Date;
  /** When it entered its current status. */
  status_since: Date;
  /** When the poller last asked its marketplace. */
  checked_at: Date | null;
}

interface EventRow {
  from_status: GpuInstanceStatus | null;
  to_status: GpuInstanceStatus;
  reason: string;
  at: Date;
}

/** Statuses the poller keeps asking about: anything that may still bill, or still be created. */
export const liveStatuses: readonly GpuInstanceStatus[] = ["pending", "provisioning", "running", "degraded", "stopped", "terminating"];

/** Inserts a new instance as pending, with its first event, in the caller's transaction. */
export async function insertPendingInstance(
  tx: TransactionSql,
  tenantId: string,
  id: string,
  label: string,
  request: CreateGpuInstanceRequest,
): Promise<void> {
  await tx`insert into gpu_instances (id, tenant_id, status, label, request) values (${id}, ${tenantId}, 'pending', ${label}, ${JSON.stringify(request)}::text::jsonb)`;
  await tx`insert into gpu_instance_events (instance_id, tenant_id, from_status, to_status, reason) values (${id}, ${tenantId}, null, 'pending', 'requested')`;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant's instance, or undefined: another tenant's instance is as absent as a missing one. */
export async function selectInstance(
  sql: Sql | TransactionSql,
  tenantId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<InstanceRow | undefined> {
  if (!uuid.test(id)) return undefined;
  const lock = options.forUpdate ? sql`for update` : sql``;
  const [row] = await sql<InstanceRow[]>`select * from gpu_instances where id = ${id} and tenant_id = ${tenantId} ${lock}`;
  return row;
}

/** The instance whatever its tenant: the sweep knows only the label a marketplace shows. */
export async function selectInstanceById(sql: Sql, id: string): Promise<InstanceRow | undefined> {
  if (!uuid.test(id)) return undefined;
  const [row] = await sql<InstanceRow[]>`select * from gpu_instances where id = ${id}`;
  return row;
}

export async function selectInstances(sql: Sql, tenantId: string, limit: number): Promise<InstanceRow[]> {
  return await sql<
    InstanceRow[]
  >`select * from gpu_instances where tenant_id = ${tenantId} order by created_at desc, id desc limit ${limit}`;
}

/** Live instances across tenants, the least recently checked first. */
export async function selectLive(sql: Sql, limit: number): Promise<InstanceRow[]> {
  return await sql<InstanceRow[]>`
    select * from gpu_instances where status = any(${[...liveStatuses]}::text[])
    order by checked_at nulls first, updated_at limit ${limit}`;
}

/** Live instances by status, counted at each metrics scrape. */
export async function countLive(sql: Sql): Promise<Array<{ status: GpuInstanceStatus; count: number }>> {
  return await sql<{ status: GpuInstanceStatus; count: number }[]>`
    select status, count(*)::int as count from gpu_instances where status = any(${[...liveStatuses]}::text[]) group by status`;
}

/** Records that the marketplace was asked, and what it said when its word changed without a move. */
export async function markChecked(sql: Sql, row: InstanceRow, providerStatus?: string): Promise<void> {
  await sql`
    update gpu_instances set checked_at = now(), provider_status = coalesce(${providerStatus ?? null}, provider_status)
    where id = ${row.id} and tenant_id = ${row.tenant_id} and status = ${row.status}`;
}

/** A create whose answer was lost: the row names the marketplace it went to, to be reconciled there. */
export async function setPendingProvider(
  tx: TransactionSql,
  tenantId: string,
  id: string,
  provider: GpuProvider,
  offer: GpuOffer,
): Promise<InstanceRow | undefined> {
  const [row] = await tx<InstanceRow[]>`
    update gpu_instances set provider = ${provider}, offer = ${JSON.stringify(offer)}::text::jsonb, updated_at = now()
    where id = ${id} and tenant_id = ${tenantId} returning *`;
  return row;
}

export async function selectTransitions(sql: Sql | TransactionSql, tenantId: string, id: string): Promise<GpuInstanceTransition[]> {
  const rows = await sql<
    EventRow[]
  >`select from_status, to_status, reason, at from gpu_instance_events where instance_id = ${id} and tenant_id = ${tenantId} order by id`;
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
    provider_status: row.provider_status,
    offer: row.offer,
    image: row.request.image,
    failure: row.failure,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(transitions ? { transitions } : {}),
  };
}
