import type { StatusComponent, StatusTable } from "../../shared/status/types.ts";
import type { BreakerView } from "../durable-objects/origin-breaker.ts";
import type { Origin } from "../origins/list.ts";

const dayMs = 24 * 60 * 60 * 1000;

/**
 * The edge's origins as status components, from their breakers (null: the breaker could not be
 * read). `regionalAnswered: false` means no origin gave the status: whatever the breakers say,
 * none of them is serving, so each shows down.
 */
export function originComponents(
  origins: Origin[],
  views: (BreakerView | null)[],
  regionalAnswered: boolean,
  now: number,
): StatusComponent[] {
  return origins.map((origin, i) => {
    const view = views[i] ?? null;
    const changed = view?.lastTransition?.at;
    const since = changed !== undefined && now - changed < dayMs ? new Date(changed).toISOString() : null;
    const component = { kind: "origin" as const, name: origin.name, since };
    if (view?.status === "open" || view?.forced === "open") return { ...component, status: "down", note: "circuit open" };
    if (!regionalAnswered) return { ...component, status: "down", note: "not answering the edge" };
    if (view === null) return { ...component, status: "degraded", note: "breaker state unknown" };
    if (view.status === "half_open") return { ...component, status: "degraded", note: "recovering: probing" };
    return { ...component, status: "healthy", note: null };
  });
}

/** The operator page's table of the edge's origin breakers. */
export function originBreakerTable(origins: Origin[], views: (BreakerView | null)[]): StatusTable {
  return {
    title: "Edge origin breakers",
    rows: origins.map((origin, i) => {
      const view = views[i] ?? null;
      const last = view?.lastTransition ?? null;
      return {
        origin: origin.name,
        state: view?.status ?? "unknown",
        forced: view?.forced ?? null,
        failures_in_window: view?.failures ?? null,
        probes_in_flight: view?.probesInFlight ?? null,
        retry_after_ms: view?.retryAfterMs ?? null,
        last_change: last === null ? null : `${last.from} → ${last.to} at ${new Date(last.at).toISOString()} (${last.reason})`,
      };
    }),
  };
}
