import type { StatusTable } from "../../shared/status/types.ts";
import type { CacheCounts } from "../metrics/cache-counts.ts";

const percent = (part: number, whole: number): string => (whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)} %`);

/**
 * The response cache's answers by level, each as a share of the cacheable requests (bypasses are
 * not: those were never the cache's to answer), summed over the whole edge.
 */
export function cacheTable(counts: CacheCounts | null): StatusTable {
  const title = "Edge response cache by level";
  if (counts === null) return { title, rows: [{ level: "unknown", requests: null, share: "the edge's metrics cannot be read now" }] };
  const cacheable = counts.hits.edge + counts.hits.redis + counts.misses + counts.stale;
  const row = (level: string, requests: number) => ({ level, requests, share: percent(requests, cacheable) });
  return {
    title,
    rows: [
      row("edge (isolate memory, Cache API)", counts.hits.edge),
      row("redis (Upstash)", counts.hits.redis),
      row("stale (served for a failing origin)", counts.stale),
      row("origin (misses, coalesced included)", counts.misses),
      { level: "bypass (not cacheable)", requests: counts.bypass, share: null },
    ],
  };
}
