import { auditActions } from "../audit/event.ts";
import type { GpuContext } from "./context.ts";

export type GpuEventAction =
  typeof auditActions.gpuOrphanDestroyed | typeof auditActions.gpuOrphanAdopted | typeof auditActions.gpuInstanceGivenUp;

export interface GpuEvent {
  action: GpuEventAction;
  result: "success" | "failure";
  provider: string;
  providerInstanceId: string;
  /** Our instance id, when a row owns (or owned) it. */
  instanceId?: string;
  tenantId?: string | null;
  reason: string;
}

/**
 * A lifecycle decision that touches money — an orphan destroyed or adopted, an instance
 * given up — goes to the log and, as a service event, to the audit log.
 */
export function reportGpuEvent(context: Pick<GpuContext, "logger" | "audit">, event: GpuEvent): void {
  const fields = {
    action: event.action,
    result: event.result,
    provider: event.provider,
    provider_instance_id: event.providerInstanceId,
    instance: event.instanceId,
    reason: event.reason,
  };
  if (event.result === "success") context.logger.warn("gpu lifecycle event", fields);
  else context.logger.error("gpu lifecycle event failed", fields);
  context.audit?.append({
    actorType: "system",
    actorId: "gpu-lifecycle",
    action: event.action,
    result: event.result,
    resource: event.instanceId ? `gpu_instance:${event.instanceId}` : `${event.provider}:${event.providerInstanceId}`,
    tenantId: event.tenantId ?? null,
    metadata: { provider: event.provider, provider_instance_id: event.providerInstanceId, reason: event.reason },
  });
}
