import { Counter, Histogram, type Registry } from "prom-client";

/**
 * Counters and histograms for the request path. prom-client hashes and validates the labels on
 * every `inc`/`observe`, even through a `labels()` child (≈ 1–3 µs each); these children are plain
 * numbers, resolved once per label set, and handed to prom-client only when scraped.
 */
export interface CounterChild {
  inc(by?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

export interface HotCounter<L extends string> {
  /** The child for these label values (the same one each time): keep it, and `inc` costs an addition. */
  labels(values: Record<L, string>): CounterChild;
}

export interface HotHistogram<L extends string> {
  labels(values: Record<L, string>): HistogramChild;
}

interface Config<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/** One child per label set, keyed by the values in label order. */
function childrenBy<L extends string, C>(labelNames: readonly L[], create: (values: Record<L, string>) => C) {
  const children = new Map<string, C>();
  return (values: Record<L, string>): C => {
    const key = labelNames.map((name) => values[name]).join("\u0000");
    let child = children.get(key);
    if (!child) children.set(key, (child = create(values)));
    return child;
  };
}

export function hotCounter<L extends string>(registry: Registry, config: Config<L>): HotCounter<L> {
  const counts: Array<{ labels: Record<L, string>; value: number }> = [];
  new Counter<L>({
    ...config,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of counts) this.inc(labels, value);
    },
  });
  return {
    labels: childrenBy(config.labelNames, (labels) => {
      const count = { labels, value: 0 };
      counts.push(count);
      return {
        inc(by = 1) {
          count.value += by;
        },
      };
    }),
  };
}

/** A histogram's series as prom-client keeps them between `observe` and export (lib/histogram.js): per-bucket counts, not cumulative. */
interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

export function hotHistogram<L extends string>(registry: Registry, config: Config<L> & { buckets: number[] }): HotHistogram<L> {
  const bounds = [...config.buckets].sort((a, b) => a - b);
  const series: Array<{ labels: Record<L, string>; buckets: number[]; sum: number; count: number }> = [];
  new Histogram<L>({
    ...config,
    buckets: bounds,
    registers: [registry],
    collect() {
      // Handed over as prom-client's own entries, so it formats buckets, `+Inf`, `_sum` and `_count` as for any histogram.
      const entries: Record<string, HistogramEntry> = {};
      series.forEach(({ labels, buckets, sum, count }, index) => {
        const bucketValues: Record<number, number> = {};
        bounds.forEach((bound, at) => (bucketValues[bound] = buckets[at] ?? 0));
        entries[String(index)] = { labels, bucketValues, sum, count };
      });
      (this as unknown as { hashMap: Record<string, HistogramEntry> }).hashMap = entries;
    },
  });
  return {
    labels: childrenBy(config.labelNames, (labels) => {
      const entry = { labels, buckets: bounds.map(() => 0), sum: 0, count: 0 };
      series.push(entry);
      return {
        observe(value) {
          entry.sum += value;
          entry.count += 1;
          for (let at = 0; at < bounds.length; at++) {
            if (value <= (bounds[at] as number)) {
              entry.buckets[at] = (entry.buckets[at] ?? 0) + 1;
              return;
            }
          }
        },
      };
    }),
  };
}
