import { createMetricBatch } from "./batch.ts";

/** This isolate's batch: what every part of the edge counts into, flushed at the end of requests. */
export const isolateMetrics = createMetricBatch();

export const count = isolateMetrics.count;
export const observe = isolateMetrics.observe;
