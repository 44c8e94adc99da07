import { escapeHtml } from "./escape-html.ts";
import { badge, page, table, time, type PageOptions } from "./page.ts";
import { publicSections } from "./public-page.ts";
import type { OperatorStatus, StatusTable } from "./types.ts";

const text = (value: unknown): string => escapeHtml(value === null || value === undefined ? "—" : value);
const yesNo = (value: boolean | null): string => (value === null ? "unknown" : value ? "yes" : "no");
const section = (title: string, html: string): string => `<section><h2>${escapeHtml(title)}</h2>${html}</section>`;

/** A table an embedding tier adds (the edge: caches by level, rate limiters), columns from its rows' keys. */
function extraTable({ title, rows }: StatusTable): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return section(
    title,
    table(columns, rows, (row) => columns.map((column) => text(row[column]))),
  );
}

export interface OperatorPageOptions extends PageOptions {
  /** More sections, after regional's (the edge's caches and rate limiters). */
  extra?: StatusTable[];
}

/** The operator status page: everything of the public one, then breakers, queues, capacity, stores and the audit chain. */
export function renderOperatorPage(status: OperatorStatus, options: OperatorPageOptions = {}): string {
  const { audit, database } = status;
  const body = [
    `<header><h1>Breakwater operator status</h1><p class="muted">Region <strong>${escapeHtml(status.region)}</strong> · updated ${time(
      status.generated_at,
    )}</p></header>`,
    publicSections(status.public),
    section(
      "Circuit breakers",
      table(["Breaker", "State", "Forced", "Opened", "Window (ok / failed)", "Probes"], status.breakers, (b) => [
        `<code>${escapeHtml(b.id)}</code>`,
        badge(b.status),
        text(b.forced),
        time(b.opened_at),
        `${text(b.window.successes)} / ${text(b.window.failures)} <span class="muted">in ${text(b.window.window_ms / 1000)} s</span>`,
        `${text(b.probes.in_flight)} of ${text(b.probes.max)}`,
      ]),
    ),
    section(
      "Cool-downs (after 429)",
      table(["Target", "Until"], status.cool_downs, (c) => [`<code>${escapeHtml(c.target)}</code>`, time(c.until)]),
    ),
    section(
      "Admission queues",
      status.queues === null
        ? `<p class="muted">Admission is off.</p>`
        : table(["Queue", "In flight", "Queued", "Shedding", "Wait p99 (ms)"], status.queues, (q) => [
            `<code>${escapeHtml(q.queue)}</code>`,
            text(q.in_flight),
            text(q.queued),
            q.shedding ? badge("degraded") + " shedding" : "no",
            text(q.wait_p99_ms),
          ]),
    ),
    section(
      "Capacity",
      table(["Provider or target", "In flight", "Max concurrent"], status.capacity, (c) => [
        `<code>${escapeHtml(c.name)}</code>`,
        text(c.in_flight),
        text(c.max_concurrent),
      ]),
    ),
    section(
      "Database",
      `<p>${badge(database.status)} primary up: ${escapeHtml(yesNo(database.primary.up))}, checked ${time(database.primary.checked_at)}</p>` +
        table(
          ["Replica", "Up", "Lag (ms)", "Lag (bytes)", "In rotation", "Reason"],
          database.replicas,
          (r) => [
            escapeHtml(r.name),
            escapeHtml(yesNo(r.up)),
            text(r.lag_ms),
            text(r.lag_bytes),
            escapeHtml(yesNo(r.in_rotation)),
            text(r.reason),
          ],
          "No replicas: reads go to the primary.",
        ),
    ),
    section(
      "Redis",
      status.redis === null
        ? `<p class="muted">No Redis configured.</p>`
        : `<p>${badge(status.redis.status)} last error ${time(status.redis.last_error_at)}</p>` +
            table(
              Object.keys(status.redis.clients).length ? ["Use", "Up", "Last error"] : [],
              Object.entries(status.redis.clients),
              ([use, c]) => [escapeHtml(use), escapeHtml(yesNo(c.up)), time(c.last_error_at)],
            ),
    ),
    section(
      "Secrets",
      table(
        ["Reference", "Used by", "Last read", "Last refresh"],
        status.secrets,
        (s) => [
          `<code>${escapeHtml(s.reference)}</code>`,
          escapeHtml(s.used_by.join(", ")),
          time(s.last_read_at),
          s.last_refresh_failed ? badge("down") + " failed" : "ok",
        ],
        "No secretsmanager: references.",
      ),
    ),
    section(
      "Audit chain",
      `<p>Head: seq ${text(audit.head_seq)} <code>${text(audit.head_hash)}</code></p>
<p>Last checkpoint: ${time(audit.last_checkpoint_at)}</p>
<p>Last verification: ${
        audit.last_verification === null
          ? `<span class="muted">never (GET /admin/audit/verify)</span>`
          : `${time(audit.last_verification.at)} ${badge(audit.last_verification.ok ? "ok" : "down")} ${
              audit.last_verification.ok ? "intact" : "broken"
            }, ${text(audit.last_verification.events)} events`
      }</p>
<p>Writer: ${text(audit.writer.queued)} queued, ${text(audit.writer.journaled)} journaled, ${
        audit.writer.failing ? `${badge("down")} writing to the journal` : "writing to Postgres"
      }, last flush ${time(audit.writer.last_flush_at)}</p>`,
    ),
    ...(options.extra ?? []).map(extraTable),
  ].join("\n");
  return page(`Breakwater operator status (${status.region})`, body, options);
}
