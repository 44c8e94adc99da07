import type { ProviderStatus } from "../../marketplace.ts";
import type { VastInstance } from "./wire.ts";

/**
 * Vast.ai's `actual_status` in the gateway's terms (vast-ai/docs cli/reference/show-instance.mdx).
 * Only the marketplace releasing the contract ends an instance: every other state may still
 * bill — `stopped` and `exited` the disk, `frozen` the GPU — so none of them is terminal.
 */
const byActualStatus: Record<string, ProviderStatus> = {
  created: "provisioning",
  scheduling: "provisioning",
  loading: "provisioning",
  running: "running",
  rebooting: "degraded",
  unknown: "degraded",
  offline: "degraded",
  stopped: "stopped",
  frozen: "stopped",
  exited: "stopped",
};

export function vastStatus(instance: VastInstance): ProviderStatus {
  if (instance.cur_state === "unloaded") return "terminated";
  const actual = (instance.actual_status ?? "").trim().toLowerCase();
  // null while the machine is being set up; a word Vast.ai adds later is watched, never dropped.
  if (actual === "") return "provisioning";
  return byActualStatus[actual] ?? "degraded";
}

export function vastRawStatus(instance: VastInstance): string {
  if (instance.cur_state === "unloaded") return "unloaded";
  return instance.actual_status ?? "null";
}
