import { durationBuckets, type CounterName, type HistogramName } from "./catalogue.ts";

/**
 * A series is named by its Prometheus text form, `name{label="value",...}` with the values
 * escaped as the exposition format asks (`\\`, `\"`, `\n`): the key isolates batch under, the
 * aggregator sums under, and `/metrics` prints. Label names are sorted, so one label set has
 * one key whatever order a caller wrote it in.
 */

export type Labels = Record<string, string>;

/** A label value as the text format writes it between double quotes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => (char === "\n" ? "\\n" : `\\${char}`));
}

/** `{a="1",b="2"` without the closing brace (a histogram's buckets append `le`); empty for no labels. */
function openLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return "";
  return `{${names.map((name) => `${name}="${escapeLabelValue(labels[name] ?? "")}"`).join(",")}`;
}

export function counterKey(name: CounterName, labels: Labels): string {
  const open = openLabels(labels);
  return open === "" ? name : `${name}${open}}`;
}

/**
 * The keys one observation adds 1 to (its bucket, non-cumulative: `/metrics` sums them up,
 * so an observation touches three keys, not one per bucket), and the key of its sum.
 */
export function observationKeys(name: HistogramName, labels: Labels, seconds: number): { bucket: string; count: string; sum: string } {
  const open = openLabels(labels);
  const bound = durationBuckets.find((le) => seconds <= le);
  const le = bound === undefined ? "+Inf" : String(bound);
  return {
    bucket: `${name}_bucket${open === "" ? "{" : `${open},`}le="${le}"}`,
    count: open === "" ? `${name}_count` : `${name}_count${open}}`,
    sum: open === "" ? `${name}_sum` : `${name}_sum${open}}`,
  };
}
