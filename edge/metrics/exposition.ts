import { durationBuckets, edgeMetricFamilies } from "./catalogue.ts";

const histograms = new Set(edgeMetricFamilies.filter((family) => family.type === "histogram").map((family) => family.name));

/**
 * Prometheus' text format (version 0.0.4) of summed series: every family with its HELP and
 * TYPE, counters as they are, histograms with cumulative buckets (stored per bucket, see
 * `series.ts`), `+Inf`, `_sum` and `_count`. Series come keyed by their text form already.
 */
export function exposition(series: ReadonlyMap<string, number>): string {
  const byFamily = new Map<string, string[]>();
  for (const key of series.keys()) {
    const name = key.split("{", 1)[0] ?? key;
    const stem = name.replace(/_(bucket|sum|count)$/, "");
    const family = histograms.has(stem) ? stem : name;
    const list = byFamily.get(family);
    if (list) list.push(key);
    else byFamily.set(family, [key]);
  }
  const lines: string[] = [];
  for (const { name, type, help } of edgeMetricFamilies) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const keys = (byFamily.get(name) ?? []).sort();
    if (type === "counter") for (const key of keys) lines.push(`${key} ${number(series.get(key) ?? 0)}`);
    else for (const key of keys) if (key.startsWith(`${name}_count`)) lines.push(...histogramLines(name, key, series));
  }
  return `${lines.join("\n")}\n`;
}

/** One label set's buckets (cumulative), sum and count, found from its `_count` key. */
function histogramLines(name: string, countKey: string, series: ReadonlyMap<string, number>): string[] {
  const labels = countKey.slice(`${name}_count`.length);
  const open = labels === "" ? "{" : `${labels.slice(0, -1)},`;
  const lines: string[] = [];
  let cumulative = 0;
  for (const le of [...durationBuckets.map(String), "+Inf"]) {
    cumulative += series.get(`${name}_bucket${open}le="${le}"}`) ?? 0;
    lines.push(`${name}_bucket${open}le="${le}"} ${number(cumulative)}`);
  }
  lines.push(`${name}_sum${labels} ${number(series.get(`${name}_sum${labels}`) ?? 0)}`);
  lines.push(`${countKey} ${number(series.get(countKey) ?? 0)}`);
  return lines;
}

/** Sums of seconds come out as floats; keep them short. */
function number(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e6) / 1e6);
}
