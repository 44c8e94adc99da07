import { withTimeout } from "../../shared/resilience/deadline.ts";
import type { MetricsAggregator } from "../durable-objects/metrics-aggregator.ts";
import type { FlushTarget, MetricBatch } from "./batch.ts";
import { count } from "./isolate.ts";

/**
 * How many MetricsAggregator objects share the isolates' flushes. Each flush goes to one at
 * random (sums do not care which), so no single object takes every isolate's flushes; a
 * scrape reads them all.
 */
export const aggregatorShards = 4;

const shardName = (index: number) => `edge-metrics-${index}`;

/** A scrape waits this long for the shards (Prometheus' own timeout is 10 s); flushes wait for the scrape meanwhile. */
const readTimeoutMs = 3_000;

/** Where this request's end sends the isolate's batch, when it is due. */
export function flushTarget(
  objects: DurableObjectNamespace<MetricsAggregator>,
  waitUntil: (promise: Promise<unknown>) => void,
  intervalMs: number,
): FlushTarget {
  return {
    send: async (deltas) => {
      count("breakwater_edge_durable_object_calls_total", { object: "metrics_aggregator" });
      await objects.getByName(shardName(Math.floor(Math.random() * aggregatorShards))).add(deltas);
    },
    waitUntil,
    intervalMs,
  };
}

/** The whole edge's sums: every shard, plus what this isolate has not flushed yet. Throws when a shard cannot be read. */
export async function aggregatedSeries(
  objects: DurableObjectNamespace<MetricsAggregator>,
  batch: MetricBatch,
): Promise<Map<string, number>> {
  return await batch.whileHeld(async (unflushed) => {
    const reads = Array.from({ length: aggregatorShards }, async (_, index) => await objects.getByName(shardName(index)).read());
    const shards = await withTimeout(Promise.all(reads), readTimeoutMs, () => new Error(`no answer within ${readTimeoutMs} ms`));
    const sums = new Map<string, number>(unflushed);
    for (const shard of shards) for (const { key, value } of shard) sums.set(key, (sums.get(key) ?? 0) + value);
    return sums;
  });
}
