import { auditActions } from "../audit/event.ts";
import type { GpuContext } from "./context.ts";
import { reportGpuEvent } from "./events.ts";
import { settleKeyOf } from "./idempotency.ts";
import { instanceView, selectInstanceById, selectTransitions, type InstanceRow } from "./instance-store.ts";
import { instanceIdOf, labelPrefix } from "./label.ts";
import type { Marketplace, ProviderInstance } from "./marketplace.ts";
import { isTerminal, moveInstance } from "./state-machine.ts";

export interface SweepReport {
  provider: string;
  /** Instances under this region's label the marketplace listed; null when it could not be listed. */
  listed: number | null;
  destroyed: number;
  adopted: number;
}

type Verdict = { act: "keep" } | { act: "adopt"; row: InstanceRow } | { act: "destroy"; row: InstanceRow | undefined; reason: string };

/**
 * What the database says of an instance a marketplace lists under our label: its own row
 * tracks it (keep); a create that lost its answer long enough ago waits for it (adopt);
 * anything else — no row, a row that ended or failed, a row tracking another instance or
 * marketplace — bills for nobody (destroy).
 */
function verdict(row: InstanceRow | undefined, seen: ProviderInstance, marketplace: Marketplace, context: GpuContext): Verdict {
  if (!row) return { act: "destroy", row, reason: "no record of the instance" };
  if (isTerminal(row.status)) return { act: "destroy", row, reason: `its record is ${row.status}` };
  if (row.provider === marketplace.name && row.provider_instance_id === seen.providerInstanceId) return { act: "keep" };
  const lostCreate =
    row.status === "pending" && row.provider_instance_id === null && (row.provider === null || row.provider === marketplace.name);
  if (lostCreate) return context.now() - row.updated_at.getTime() < context.stalePendingMs ? { act: "keep" } : { act: "adopt", row };
  return {
    act: "destroy",
    row,
    reason: row.provider_instance_id
      ? `its record tracks ${row.provider}:${row.provider_instance_id}`
      : `its record is ${row.status} with nothing rented`,
  };
}

/**
 * The sweep: lists each marketplace's instances carrying this region's label and reconciles
 * them with the database, so nothing Breakwater rented bills unseen — lost creates, creates
 * that went through after the gateway moved on, destroys a crash left half done. A
 * marketplace that cannot be listed is skipped this round, never guessed about.
 */
export function createSweeper(context: GpuContext): { sweep(requestId: string): Promise<SweepReport[]> } {
  const { db, guard, counters, logger } = context;

  async function destroy(
    marketplace: Marketplace,
    seen: ProviderInstance,
    row: InstanceRow | undefined,
    reason: string,
    requestId: string,
  ): Promise<boolean> {
    const event = {
      action: auditActions.gpuOrphanDestroyed,
      provider: marketplace.name,
      providerInstanceId: seen.providerInstanceId,
      instanceId: row?.id,
      tenantId: row?.tenant_id,
      reason,
    };
    try {
      await guard.retried(marketplace.name, requestId, context.detached, (call) => marketplace.destroy(seen.providerInstanceId, call));
      counters.add("orphans_destroyed");
      counters.add("destroys_confirmed");
      reportGpuEvent(context, { ...event, result: "success" });
      return true;
    } catch (error) {
      counters.add("destroy_failures");
      reportGpuEvent(context, {
        ...event,
        result: "failure",
        reason: `${reason}; destroy failed: ${error instanceof Error ? error.message : String(error)}`,
      });
      return false;
    }
  }

  async function adopt(marketplace: Marketplace, seen: ProviderInstance, row: InstanceRow): Promise<boolean> {
    const reason = `found at ${marketplace.name} by the sweep after its create's answer was lost`;
    const moved = await db.transaction(row.tenant_id, async (tx) => {
      const adopted = await moveInstance(tx, row.tenant_id, row.id, "provisioning", reason, {
        provider: marketplace.name,
        providerInstanceId: seen.providerInstanceId,
        providerStatus: seen.rawStatus,
      });
      await settleKeyOf(tx, row.tenant_id, row.id, {
        status: 201,
        body: instanceView(adopted, await selectTransitions(tx, row.tenant_id, row.id)),
        headers: { "x-breakwater-provider": marketplace.name, "x-breakwater-attempts": "1" },
      });
      return adopted;
    });
    if (moved.provider_instance_id !== seen.providerInstanceId) return false;
    counters.add("orphans_adopted");
    reportGpuEvent(context, {
      action: auditActions.gpuOrphanAdopted,
      result: "success",
      provider: marketplace.name,
      providerInstanceId: seen.providerInstanceId,
      instanceId: row.id,
      tenantId: row.tenant_id,
      reason,
    });
    return true;
  }

  async function sweepOne(marketplace: Marketplace, requestId: string): Promise<SweepReport> {
    const report: SweepReport = { provider: marketplace.name, listed: null, destroyed: 0, adopted: 0 };
    let listed: ProviderInstance[];
    try {
      // Once, under a long deadline: a failed listing waits for the next sweep.
      listed = await guard.once(
        marketplace.name,
        requestId,
        context.detached,
        (call) => marketplace.listLabelled(labelPrefix(context.region), call),
        context.sweepTimeoutMs,
      );
    } catch (error) {
      counters.add("sweep_failures");
      logger.warn("gpu sweep could not list a marketplace; skipped this round", { provider: marketplace.name, error });
      return report;
    }
    report.listed = listed.length;
    for (const seen of listed) {
      const id = instanceIdOf(seen.label, context.region);
      if (id === undefined || seen.status === "terminated") continue;
      // The primary: a row written a moment ago must not look missing.
      const decided = verdict(await selectInstanceById(db.write, id), seen, marketplace, context);
      if (decided.act === "destroy" && (await destroy(marketplace, seen, decided.row, decided.reason, requestId))) report.destroyed += 1;
      if (decided.act === "adopt" && (await adopt(marketplace, seen, decided.row).catch(() => false))) report.adopted += 1;
    }
    return report;
  }

  return {
    async sweep(requestId) {
      counters.add("sweeps");
      return await Promise.all(context.marketplaces.map((marketplace) => sweepOne(marketplace, requestId)));
    },
  };
}
