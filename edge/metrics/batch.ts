import { withTimeout } from "../../shared/resilience/deadline.ts";
import type { CounterName, HistogramName } from "./catalogue.ts";
import { counterKey, observationKeys, type Labels } from "./series.ts";

/** Where a batch goes: the aggregator, and the request's `waitUntil` that carries the call. */
export interface FlushTarget {
  send(deltas: [string, number][]): Promise<void>;
  waitUntil(promise: Promise<unknown>): void;
  /** A batch waits at most this long after the last flush (METRICS_FLUSH_INTERVAL_MS). */
  intervalMs: number;
}

export interface BatchLimits {
  /** This many increments since the last flush send the batch at once, whatever the interval. */
  maxEvents: number;
  /** An unsent batch holds at most this many series; increments of new ones beyond are dropped (and counted). */
  maxSeries: number;
  /** A flush the aggregator has not answered by then failed; its counts go back into the batch. */
  timeoutMs: number;
}

/** How often a scrape looks whether the flush under way has ended. */
const flushPollMs = 5;

export const defaultBatchLimits: BatchLimits = { maxEvents: 5_000, maxSeries: 4_000, timeoutMs: 5_000 };

/**
 * One isolate's counts not yet in the aggregator. Requests only add to a map; at the end of
 * each request `flushSoon` sends the batch from `waitUntil` — at once when it has been
 * `intervalMs` since the last flush or `maxEvents` piled up, else by a timer at that time —
 * never more than one flush in flight. A failed flush puts its counts back (bounded by
 * `maxSeries`), so the next one carries them.
 */
export interface MetricBatch {
  count(name: CounterName, labels?: Labels, by?: number): void;
  observe(name: HistogramName, labels: Labels, seconds: number): void;
  flushSoon(target: FlushTarget): void;
  /**
   * Runs `read` with what has not reached the aggregator yet, once any flush under way has
   * ended (or its timeout passed), and sends no flush until `read` is done: a scrape that adds
   * both up counts each increment once.
   */
  whileHeld<T>(read: (unflushed: ReadonlyMap<string, number>) => Promise<T>): Promise<T>;
}

export function createMetricBatch(limits: BatchLimits = defaultBatchLimits, now: () => number = Date.now): MetricBatch {
  let pending = new Map<string, number>();
  let events = 0;
  let lastFlushAt = now();
  /** When the flush under way started; null when none is. */
  let inFlightSince: number | null = null;
  // A flush whose request was torn down never settles: past twice its timeout it no longer blocks the next.
  const inFlight = () => inFlightSince !== null && now() - inFlightSince < 2 * limits.timeoutMs;
  let timerSet = false;
  let held = 0;

  const add = (key: string, delta: number): void => {
    const known = pending.get(key);
    if (known !== undefined) pending.set(key, known + delta);
    else if (pending.size < limits.maxSeries) pending.set(key, delta);
    else return void bump("breakwater_edge_metrics_dropped_total", 1);
    events += 1;
  };
  // The batch's own counters always have room: they say what happened to the rest.
  const bump = (name: CounterName, by: number, labels: Labels = {}): void => {
    const key = counterKey(name, labels);
    pending.set(key, (pending.get(key) ?? 0) + by);
  };

  const flush = (target: FlushTarget): Promise<void> => {
    const sent = pending;
    pending = new Map();
    events = 0;
    lastFlushAt = now();
    const since = lastFlushAt;
    inFlightSince = since;
    return withTimeout(
      Promise.resolve().then(() => target.send([...sent])),
      limits.timeoutMs,
      () => new Error("the metrics aggregator did not answer"),
    )
      .then(
        () => bump("breakwater_edge_metrics_flushes_total", 1, { result: "ok" }),
        () => {
          for (const [key, delta] of sent) add(key, delta);
          bump("breakwater_edge_metrics_flushes_total", 1, { result: "failed" });
        },
      )
      .finally(() => {
        if (inFlightSince === since) inFlightSince = null;
      });
  };

  return {
    count(name, labels = {}, by = 1) {
      add(counterKey(name, labels), by);
    },
    observe(name, labels, seconds) {
      const keys = observationKeys(name, labels, seconds);
      add(keys.bucket, 1);
      add(keys.count, 1);
      add(keys.sum, seconds);
    },
    flushSoon(target) {
      if (inFlight() || held > 0 || events === 0) return;
      const dueIn = lastFlushAt + target.intervalMs - now();
      if (dueIn <= 0 || events >= limits.maxEvents) return target.waitUntil(flush(target));
      if (timerSet) return;
      timerSet = true;
      // The request that set the timer carries it in its waitUntil (at most the interval, well under its 30 s).
      target.waitUntil(
        new Promise((resolve) => setTimeout(resolve, dueIn)).then(async () => {
          timerSet = false;
          if (!inFlight() && held === 0 && events > 0) await flush(target);
        }),
      );
    },
    async whileHeld(read) {
      held += 1;
      try {
        // Polled, not awaited: the flush's promise belongs to another request, and workerd
        // hangs a request that awaits another's promise once that one has ended.
        for (let polls = limits.timeoutMs / flushPollMs; inFlight() && polls > 0; polls -= 1)
          await new Promise((resolve) => setTimeout(resolve, flushPollMs));
        return await read(pending);
      } finally {
        held -= 1;
      }
    },
  };
}
