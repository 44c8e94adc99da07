import type { Health, PublicStatus, StatusComponent } from "./types.ts";

const rank: Record<Health, number> = { healthy: 0, degraded: 1, down: 2 };

/** The public status with a tier's own components added (the edge's origins), its overall status the worst of all. */
export function withComponents(status: PublicStatus, extra: StatusComponent[]): PublicStatus {
  const components = [...status.components, ...extra];
  const worst = components.reduce<Health>((acc, c) => (rank[c.status] > rank[acc] ? c.status : acc), "healthy");
  return { ...status, components, status: worst };
}
