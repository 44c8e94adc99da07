import { escapeHtml } from "./escape-html.ts";
import { badge, page, table, time, type PageOptions } from "./page.ts";
import type { PublicStatus, StatusComponent, StatusIncident } from "./types.ts";

const headline = { healthy: "All systems operational", degraded: "Some systems degraded", down: "Some systems down" } as const;

const kindWords: Record<StatusIncident["kind"], string> = {
  breaker_opened: "stopped sending calls to",
  breaker_closed: "recovered:",
  failover: "failed over from",
};

function components(title: string, list: StatusComponent[]): string {
  if (list.length === 0) return "";
  const rows = table(["Name", "Status", "Since", "Note"], list, (c) => [
    `<strong>${escapeHtml(c.name)}</strong>`,
    badge(c.status),
    time(c.since),
    escapeHtml(c.note ?? ""),
  ]);
  return `<section><h2>${escapeHtml(title)}</h2>${rows}</section>`;
}

export function incidentTimeline(incidents: StatusIncident[]): string {
  if (incidents.length === 0) return `<p class="muted">No incidents in the last 24 hours.</p>`;
  const items = incidents.map(
    (i) =>
      `<li class="${escapeHtml(i.kind)}">${time(i.at)} — ${escapeHtml(i.tier)}${i.region ? ` (${escapeHtml(i.region)})` : ""} ${escapeHtml(
        kindWords[i.kind],
      )} <strong>${escapeHtml(i.subject)}</strong>${i.reason ? ` <span class="muted">${escapeHtml(i.reason)}</span>` : ""}</li>`,
  );
  return `<ol class="timeline">${items.join("")}</ol>`;
}

/** The body of the public view, for embedding (the operator page shows it too). */
export function publicSections(status: PublicStatus): string {
  const of = (kind: StatusComponent["kind"]) => status.components.filter((c) => c.kind === kind);
  return [
    `<p class="banner ${escapeHtml(status.status)}">${escapeHtml(headline[status.status])}</p>`,
    components("Routes", of("route")),
    components("Providers", of("provider")),
    components("Edge origins", of("origin")),
    `<section><h2>Incidents, last 24 hours</h2>${incidentTimeline(status.incidents)}</section>`,
  ].join("\n");
}

/** The public status page: routes, providers and origins with their status and since when, and the incident timeline. */
export function renderPublicPage(status: PublicStatus, options: PageOptions = {}): string {
  const body = `<header><h1>Breakwater status</h1><p class="muted">Updated ${time(status.generated_at)}</p></header>
${publicSections(status)}`;
  return page("Breakwater status", body, options);
}
