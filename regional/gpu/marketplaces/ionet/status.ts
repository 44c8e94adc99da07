import type { ProviderStatus } from "../../marketplace.ts";

/**
 * io.net's deployment status (CaaSResourceStatus, caas/get-all-deployments) in the gateway's
 * terms. A word io.net adds later is watched as degraded, never taken as an end.
 */
const statuses: Record<string, ProviderStatus> = {
  "deployment requested": "provisioning",
  running: "running",
  "termination requested": "terminating",
  destroyed: "terminated",
  completed: "terminated",
  failed: "failed",
};

export function ionetStatus(status: string): ProviderStatus {
  return statuses[status.trim().toLowerCase()] ?? "degraded";
}

/** The states that may bill, and so what a look-up by label or the sweep must see. */
export const ionetLiveStatuses = ["deployment requested", "running"] as const;
