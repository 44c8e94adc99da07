import type { GpuInstanceStatus } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { TransactionSql } from "../db/index.ts";
import { selectInstance, type InstanceRow } from "./instance-store.ts";

/**
 * Where an instance may go from each status. pending is the gateway's own (nothing rented
 * yet), and `failed` is reachable only from it: once something is rented, the only way out
 * is through `terminating` (destroy until confirmed) or the marketplace ending it
 * (`terminated`), so no row stops being watched while it may still bill. The live states
 * move freely among themselves as the marketplace reports them.
 */
export const allowedTransitions: Record<GpuInstanceStatus, readonly GpuInstanceStatus[]> = {
  pending: ["provisioning", "failed"],
  provisioning: ["running", "degraded", "stopped", "terminating", "terminated"],
  running: ["provisioning", "degraded", "stopped", "terminating", "terminated"],
  degraded: ["provisioning", "running", "stopped", "terminating", "terminated"],
  stopped: ["provisioning", "running", "degraded", "terminating", "terminated"],
  terminating: ["terminated"],
  terminated: [],
  failed: [],
};

export function canMove(from: GpuInstanceStatus, to: GpuInstanceStatus): boolean {
  return allowedTransitions[from].includes(to);
}

export const isTerminal = (status: GpuInstanceStatus): boolean => allowedTransitions[status].length === 0;

/** What a transition may also record on the row. */
export interface InstanceChanges {
  provider?: string;
  providerInstanceId?: string;
  /** The marketplace's own word for the state. */
  providerStatus?: string;
  offer?: unknown;
  failure?: string;
}

/**
 * Moves an instance to `to`, writing the row and its event in the caller's transaction
 * (row locked first, so concurrent movers serialise). Moving to the status it already has
 * changes nothing; a move the table forbids is a 409.
 */
export async function moveInstance(
  tx: TransactionSql,
  tenantId: string,
  id: string,
  to: GpuInstanceStatus,
  reason: string,
  changes: InstanceChanges = {},
): Promise<InstanceRow> {
  const current = await selectInstance(tx, tenantId, id, { forUpdate: true });
  if (!current) throw new GatewayError("not_found", { message: `No GPU instance '${id}'.` });
  if (current.status === to) return current;
  if (!canMove(current.status, to))
    throw new GatewayError("conflict", { message: `The instance is ${current.status}; it cannot become ${to}.` });
  const offer = changes.offer === undefined ? null : JSON.stringify(changes.offer);
  const [row] = await tx<InstanceRow[]>`
    update gpu_instances set
      status = ${to},
      provider = coalesce(${changes.provider ?? null}, provider),
      provider_instance_id = coalesce(${changes.providerInstanceId ?? null}, provider_instance_id),
      provider_status = coalesce(${changes.providerStatus ?? null}, provider_status),
      offer = coalesce(${offer}::text::jsonb, offer),
      failure = coalesce(${changes.failure ?? null}, failure),
      updated_at = now(),
      status_since = now(),
      checked_at = now()
    where id = ${id} and tenant_id = ${tenantId}
    returning *`;
  await tx`insert into gpu_instance_events (instance_id, tenant_id, from_status, to_status, reason) values (${id}, ${tenantId}, ${current.status}, ${to}, ${reason})`;
  if (!row) throw new Error(`gpu instance ${id} vanished under its lock`);
  return row;
}
