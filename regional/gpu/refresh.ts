import { auditActions } from "../audit/event.ts";
import { GatewayError } from "../../shared/error.ts";
import type { GpuContext } from "./context.ts";
import { reportGpuEvent } from "./events.ts";
import { settleKeyOf } from "./idempotency.ts";
import { instanceView, markChecked, selectInstance, selectTransitions, type InstanceRow } from "./instance-store.ts";
import type { Marketplace, ProviderInstance } from "./marketplace.ts";
import { isTerminal, moveInstance, type InstanceChanges } from "./state-machine.ts";

export interface Refresher {
  /** The row brought up to date with its marketplace: moved, given up, destroyed as due. Never throws for a marketplace that cannot answer. */
  refresh(row: InstanceRow, requestId: string): Promise<InstanceRow>;
  /**
   * Destroys a terminating instance until its marketplace confirms: terminated then, else
   * left terminating for the next round. `lookFirst` asks the marketplace before destroying
   * (it may be gone, or already ending it).
   */
  confirmDestroy(row: InstanceRow, requestId: string, options: { lookFirst: boolean }): Promise<InstanceRow>;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * Keeping rows true to their marketplace — the half of the lifecycle that stops money
 * leaking: every state that may bill stays live and polled; an instance degraded or stopped
 * too long, or failed at its marketplace, is given up and destroyed; a destroy is repeated
 * every round until the marketplace confirms it.
 */
export function createRefresher(context: GpuContext): Refresher {
  const { db, logger, guard, counters } = context;

  async function move(row: InstanceRow, to: InstanceRow["status"], reason: string, changes: InstanceChanges = {}): Promise<InstanceRow> {
    try {
      return await db.transaction(row.tenant_id, (tx) => moveInstance(tx, row.tenant_id, row.id, to, reason, changes));
    } catch (error) {
      // Someone else moved it first; theirs stands.
      if (error instanceof GatewayError && error.code === "conflict") return (await selectInstance(db.write, row.tenant_id, row.id)) ?? row;
      throw error;
    }
  }

  async function checked(row: InstanceRow, providerStatus?: string): Promise<InstanceRow> {
    await markChecked(db.write, row, providerStatus).catch((error: unknown) =>
      logger.warn("gpu check not recorded", { instance: row.id, error }),
    );
    return { ...row, provider_status: providerStatus ?? row.provider_status };
  }

  async function confirmDestroy(row: InstanceRow, requestId: string, options: { lookFirst: boolean }): Promise<InstanceRow> {
    const marketplace = row.provider ? context.byName.get(row.provider) : undefined;
    const providerId = row.provider_instance_id;
    if (row.status !== "terminating" || !marketplace || providerId === null) return row;
    try {
      if (options.lookFirst) {
        const seen = await guard.once(marketplace.name, requestId, context.detached, (call) => marketplace.get(providerId, call));
        if (!seen || seen.status === "terminated") {
          counters.add("destroys_confirmed");
          return await move(
            row,
            "terminated",
            seen ? `${marketplace.name} reports ${seen.rawStatus}` : `${marketplace.name} no longer knows the instance`,
            seen ? { providerStatus: seen.rawStatus } : {},
          );
        }
        // The marketplace is ending it already: wait for it to finish.
        if (seen.status === "terminating") return await checked(row, seen.rawStatus);
      }
      await guard.retried(marketplace.name, requestId, context.detached, (call) => marketplace.destroy(providerId, call));
      counters.add("destroys_confirmed");
      return await move(row, "terminated", `destroyed at ${marketplace.name}`);
    } catch (error) {
      counters.add("destroy_failures");
      logger.warn("gpu destroy not confirmed; retried next round", { requestId, instance: row.id, provider: marketplace.name, error });
      return await checked(row);
    }
  }

  /** Breakwater stops waiting for the instance: recorded, reported, destroyed. */
  async function giveUp(
    row: InstanceRow,
    why: string,
    seen: ProviderInstance,
    marketplace: Marketplace,
    requestId: string,
  ): Promise<InstanceRow> {
    const failure = `given up: ${why}`;
    const moved = await move(row, "terminating", failure, { failure, providerStatus: seen.rawStatus });
    if (moved.status !== "terminating") return moved;
    counters.add("given_up");
    reportGpuEvent(context, {
      action: auditActions.gpuInstanceGivenUp,
      result: "success",
      provider: marketplace.name,
      providerInstanceId: seen.providerInstanceId,
      instanceId: row.id,
      tenantId: row.tenant_id,
      reason: why,
    });
    return await confirmDestroy(moved, requestId, { lookFirst: false });
  }

  /**
   * A create that never finished (its process died between claiming the key and hearing
   * back): adopt what a marketplace has under the label, or fail it once all say they have none.
   */
  async function resolveStalePending(row: InstanceRow, requestId: string): Promise<InstanceRow> {
    let answered = 0;
    for (const marketplace of context.marketplaces) {
      try {
        const found = await guard.retried(marketplace.name, requestId, context.detached, (call) =>
          marketplace.findByLabel(row.label, call),
        );
        answered += 1;
        if (!found) continue;
        return await db.transaction(row.tenant_id, async (tx) => {
          const moved = await moveInstance(
            tx,
            row.tenant_id,
            row.id,
            "provisioning",
            `found at ${marketplace.name} by label after an interrupted create`,
            { provider: marketplace.name, providerInstanceId: found.providerInstanceId, providerStatus: found.rawStatus },
          );
          await settleKeyOf(tx, row.tenant_id, row.id, {
            status: 201,
            body: instanceView(moved, await selectTransitions(tx, row.tenant_id, row.id)),
            headers: { "x-breakwater-provider": marketplace.name, "x-breakwater-attempts": "1" },
          });
          return moved;
        });
      } catch (error) {
        logger.warn("gpu look-up of an interrupted create failed", { requestId, instance: row.id, provider: marketplace.name, error });
      }
    }
    if (answered < context.marketplaces.length) return await checked(row);
    const failure = "the create was interrupted and no marketplace has the instance";
    return await db.transaction(row.tenant_id, async (tx) => {
      const moved = await moveInstance(tx, row.tenant_id, row.id, "failed", failure, { failure });
      await settleKeyOf(tx, row.tenant_id, row.id, "release");
      return moved;
    });
  }

  /** A create whose answer was lost at `marketplace`: adopt it by label, or, long after, fail it once the marketplace says it has none. */
  async function resolveLostCreate(row: InstanceRow, marketplace: Marketplace, requestId: string): Promise<InstanceRow> {
    const found = await guard.retried(marketplace.name, requestId, context.detached, (call) => marketplace.findByLabel(row.label, call));
    if (found)
      return await move(row, "provisioning", `adopted from ${marketplace.name} by label`, {
        providerInstanceId: found.providerInstanceId,
        providerStatus: found.rawStatus,
      });
    if (context.now() - row.updated_at.getTime() < context.stalePendingMs) return await checked(row);
    const failure = `the create's answer was lost and ${marketplace.name} has no instance labelled ${row.label}`;
    return await move(row, "failed", failure, { failure });
  }

  async function refresh(row: InstanceRow, requestId: string): Promise<InstanceRow> {
    if (row.status === "pending" && row.provider === null) {
      return context.now() - row.updated_at.getTime() < context.stalePendingMs ? row : await resolveStalePending(row, requestId);
    }
    const marketplace = row.provider ? context.byName.get(row.provider) : undefined;
    if (isTerminal(row.status) || !marketplace) return row;
    try {
      if (row.status === "pending") return await resolveLostCreate(row, marketplace, requestId);
      if (row.status === "terminating") return await confirmDestroy(row, requestId, { lookFirst: true });
      const providerId = row.provider_instance_id;
      if (providerId === null) return row;
      const seen = await guard.once(marketplace.name, requestId, context.detached, (call) => marketplace.get(providerId, call));
      const said = seen ? `${marketplace.name} reports ${seen.rawStatus}` : `${marketplace.name} no longer knows the instance`;
      if (!seen) return await move(row, "terminated", said, { failure: "gone at the provider" });
      if (seen.status === "terminated")
        return await move(row, "terminated", said, {
          failure: `ended by ${marketplace.name} (${seen.rawStatus})`,
          providerStatus: seen.rawStatus,
        });
      if (seen.status === "failed") return await giveUp(row, said, seen, marketplace, requestId);
      const current =
        seen.status === row.status
          ? await checked(row, seen.rawStatus)
          : await move(row, seen.status, said, { providerStatus: seen.rawStatus });
      if (current.status !== "degraded" && current.status !== "stopped") return current;
      const since = context.now() - current.status_since.getTime();
      if (context.giveUpAfterMs > 0 && since >= context.giveUpAfterMs)
        return await giveUp(
          current,
          `${current.status} (${marketplace.name} reports ${seen.rawStatus}) for ${minutes(since)}`,
          seen,
          marketplace,
          requestId,
        );
      return current;
    } catch (error) {
      // A marketplace that cannot answer now leaves the last known status in place.
      logger.warn("gpu status refresh failed", { requestId, instance: row.id, provider: row.provider, error });
      return await checked(row);
    }
  }

  return { refresh, confirmDestroy };
}
