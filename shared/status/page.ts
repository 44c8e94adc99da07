import type { Health } from "./types.ts";
import { escapeHtml } from "./escape-html.ts";

/**
 * What to send with a status page: it loads nothing (no script, font or image; styles inline), so
 * a CSP this strict costs nothing and keeps an escaped value that slipped from ever running.
 */
export const statusPageHeaders: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export interface PageOptions {
  /** Seconds between reloads (`<meta http-equiv="refresh">`, no script); 0 turns it off. Default 15. */
  refreshSeconds?: number;
}

const style = `
:root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#6e7781;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0 auto;max-width:60rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:1.5rem;margin:.25rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600;font-size:.85rem;color:#fff;white-space:nowrap}
.healthy,.ok,.up,.closed{background:var(--ok)}.degraded,.half_open{background:var(--warn)}.down,.open{background:var(--bad)}
.banner{padding:.75rem 1rem;border-radius:.5rem;color:#fff;font-weight:600}
.table{width:100%;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
ol.timeline{list-style:none;padding:0;margin:0}
ol.timeline li{padding:.4rem 0 .4rem .75rem;border-left:3px solid var(--line)}
ol.timeline li.breaker_opened{border-color:var(--bad)}ol.timeline li.breaker_closed{border-color:var(--ok)}
code{font-size:.85em;word-break:break-all}
@media (max-width:40rem){table,tbody,tr,td{display:block}thead{display:none}tr{padding:.4rem 0;border-bottom:1px solid var(--line)}td{border:0;padding:.1rem 0}}
`;

const healthWords: Record<Health, string> = { healthy: "Healthy", degraded: "Degraded", down: "Down" };

/** A status as a word on its colour: the word carries the meaning, the colour only repeats it. */
export const badge = (status: string): string => {
  const word = healthWords[status as Health] ?? status.charAt(0).toUpperCase() + status.slice(1).replace("_", " ");
  return `<span class="badge ${escapeHtml(status)}">${escapeHtml(word)}</span>`;
};

/** An instant as UTC text a person reads, with the machine value kept in a `<time>`. */
export const time = (iso: string | null): string =>
  iso === null
    ? `<span class="muted">—</span>`
    : `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace("T", " ").replace(/\.\d+Z$/, "Z"))}</time>`;

/** A table of escaped cells; `cells` returns HTML already escaped (use `escapeHtml`, `badge`, `time`). */
export function table<T>(headers: string[], rows: T[], cells: (row: T) => string[], empty = "None."): string {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  const body = rows
    .map(
      (row) =>
        `<tr>${cells(row)
          .map((cell) => `<td>${cell}</td>`)
          .join("")}</tr>`,
    )
    .join("");
  return `<div class="table"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The page around a view: phone-sized viewport, inline style, reload every few seconds. */
export function page(title: string, body: string, options: PageOptions = {}): string {
  const refresh = options.refreshSeconds ?? 15;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${refresh > 0 ? `<meta http-equiv="refresh" content="${Math.max(1, Math.floor(refresh))}">` : ""}
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
