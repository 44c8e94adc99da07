import { nodeTimer, type BatchTimer } from "./timer.ts";

/**
 * Items written to a store in batches, off the path that produces them: queued, flushed once
 * `flushEvents` are waiting or every `flushIntervalMs`, one flush at a time, and flushed on
 * close. Two modes: durable (a batch the store cannot take goes to a fallback, and a waiter
 * hears back only once its item is in one of them) and best-effort (a bounded queue that
 * drops its oldest items, counted, while the store is away).
 */
export interface Batcher<T> {
  /** Queues an item; never waits. */
  add(item: T): void;
  /** Writes everything queued so far; joins a flush already running rather than starting a second. */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is queued. */
  close(): Promise<void>;
  stats(): BatcherStats;
}

export interface DurableBatcher<T> extends Batcher<T> {
  /**
   * Queues an item, flushes soon, and resolves once it is durable: in the primary store, or
   * else in the fallback. Rejects when neither took it (it stays queued and is written later).
   */
  addDurable(item: T): Promise<void>;
}

export interface BatcherStats {
  /** Items taken and not written yet: waiting, in the batch being written, or refused and kept for the next flush. */
  queued: number;
  /** Best-effort: items dropped, oldest first, because `maxQueued` were waiting. Always 0 when durable. */
  dropped: number;
}

export interface BatchingOptions {
  /** A queue this long is flushed at once (on the next turn of the event loop, so one burst makes one batch). */
  flushEvents: number;
  /** A queue older than this is flushed even when small. */
  flushIntervalMs: number;
  /** Most items per write when a backlog has built up. */
  maxBatch: number;
  timer?: BatchTimer;
}

/** Where a durable batcher writes. */
export interface DurableSink<T> {
  /** False sends batches straight to the fallback (the primary is believed down, or the fallback holds older items). Default: true. */
  primaryOpen?(): boolean;
  /** Writes the batch to the primary store; throws when it could not. */
  primary(batch: T[]): Promise<void>;
  /** Told why the primary write failed, before the batch goes to the fallback. */
  primaryFailed?(error: unknown): void;
  /** Writes the batch to the fallback store (a local journal); once it resolves the items are durable. */
  fallback(batch: T[]): Promise<void>;
  /** Neither store took the batch: its waiters are rejected and the items tried again after `retryAfterMs`. */
  unwritten?(batch: T[], error: unknown): void;
  /**
   * Work owed before the next batch (moving what the fallback holds into the primary), run
   * inside a flush so it never runs beside a batch write. `run` handles its own failures and
   * leaves `due()` false when it cannot go on.
   */
  catchUp?: { due(): boolean; run(): Promise<void> };
}

export interface DurableBatcherOptions<T> extends BatchingOptions {
  sink: DurableSink<T>;
  /** After both stores failed, the wait before the batch is tried again. */
  retryAfterMs: number;
}

/** What a best-effort write made of its batch; items it does not name were written (or given up by the writer). */
export interface BestEffortResult<T> {
  /** Refused this time: tried again at the next flush, not in this one where they would meet the same refusal. */
  retryLater?: T[];
  /** Not tried because the store went away: back in front of the queue, and this flush ends. */
  held?: { items: T[]; error: unknown };
}

export interface BestEffortBatcherOptions<T> extends BatchingOptions {
  /** Writes a batch. Throwing says the store is away: the whole batch waits for the next flush. */
  write(batch: T[]): Promise<BestEffortResult<T> | undefined>;
  /** Items kept while the store is away; past this the oldest is dropped. */
  maxQueued: number;
  /** Called with the running total after each drop. */
  onDropped?(dropped: number): void;
  /** Called when a flush ends early because the store is away, with the items still queued. */
  onHeld?(queued: number, error: unknown): void;
}

export function createDurableBatcher<T>(options: DurableBatcherOptions<T>): DurableBatcher<T> {
  const { sink } = options;
  const settle = (batch: Entry<T>[]): void => {
    for (const entry of batch) entry.waiter?.resolve();
  };
  const core = createCore<T>(options, {
    catchUp: sink.catchUp,
    async write(batch) {
      const items = batch.map((entry) => entry.item);
      if (sink.primaryOpen?.() ?? true) {
        try {
          await sink.primary(items);
          settle(batch);
          return {};
        } catch (error) {
          sink.primaryFailed?.(error);
        }
      }
      try {
        await sink.fallback(items);
        settle(batch);
        return {};
      } catch (error) {
        sink.unwritten?.(items, error);
        for (const entry of batch) entry.waiter?.reject(error);
        // Kept, without their waiters, so they are written once either store works again.
        return { putBack: batch.map(({ item }) => ({ item })), pauseMs: options.retryAfterMs };
      }
    },
  });
  return {
    add: (item) => core.enqueue({ item }, false),
    addDurable: (item) => new Promise<void>((resolve, reject) => core.enqueue({ item, waiter: { resolve, reject } }, true)),
    flush: core.flush,
    close: core.close,
    stats: core.stats,
  };
}

export function createBestEffortBatcher<T>(options: BestEffortBatcherOptions<T>): Batcher<T> {
  const entries = (items: T[] | undefined): Entry<T>[] => (items ?? []).map((item) => ({ item }));
  const core: Core<T> = createCore<T>(options, {
    maxQueued: options.maxQueued,
    dropped: options.onDropped,
    async write(batch) {
      try {
        const result = await options.write(batch.map((entry) => entry.item));
        return {
          nextFlush: entries(result?.retryLater),
          putBack: entries(result?.held?.items),
          ...(result?.held && { away: { error: result.held.error } }),
        };
      } catch (error) {
        return { putBack: batch, away: { error } };
      }
    },
    away: (error) => options.onHeld?.(core.stats().queued, error),
  });
  return { add: (item) => core.enqueue({ item }, false), flush: core.flush, close: core.close, stats: core.stats };
}

interface Entry<T> {
  item: T;
  waiter?: { resolve(): void; reject(error: unknown): void };
}

/** What became of one batch. */
interface Outcome<T> {
  /** Not written: back in front of the queue, before anything newer. */
  putBack?: Entry<T>[];
  /** Tried at the next flush. */
  nextFlush?: Entry<T>[];
  /** The store is away: this flush ends here. */
  away?: { error: unknown };
  /** Wait this long before the next batch. */
  pauseMs?: number;
}

/** What makes a mode: how a batch is written, and the queue's bound. */
interface Mode<T> {
  /** Never throws: a failure is an outcome. */
  write(batch: Entry<T>[]): Promise<Outcome<T>>;
  catchUp?: { due(): boolean; run(): Promise<void> } | undefined;
  maxQueued?: number;
  dropped?: ((dropped: number) => void) | undefined;
  away?(error: unknown): void;
}

interface Core<T> {
  enqueue(entry: Entry<T>, urgent: boolean): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): BatcherStats;
}

function createCore<T>(options: BatchingOptions, mode: Mode<T>): Core<T> {
  const timer = options.timer ?? nodeTimer;
  let queue: Entry<T>[] = [];
  let writing: Entry<T>[] = [];
  let nextFlush: Entry<T>[] = [];
  let dropped = 0;
  let draining: Promise<void> | null = null;
  let flushSoon = false;
  const stopTimer = timer.every(options.flushIntervalMs, () => void flush());

  function enqueue(entry: Entry<T>, urgent: boolean): void {
    queue.push(entry);
    if (mode.maxQueued !== undefined && queue.length > mode.maxQueued) {
      queue.shift();
      dropped += 1;
      mode.dropped?.(dropped);
    }
    if ((urgent || queue.length >= options.flushEvents) && !flushSoon) {
      flushSoon = true;
      setImmediate(() => {
        flushSoon = false;
        void flush();
      });
    }
  }

  function flush(): Promise<void> {
    draining ??= drain().finally(() => {
      draining = null;
    });
    return draining;
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0 || mode.catchUp?.due()) {
        if (mode.catchUp?.due()) await mode.catchUp.run();
        if (queue.length === 0) continue;
        writing = queue.splice(0, options.maxBatch);
        const outcome = await mode.write(writing);
        writing = [];
        if (outcome.putBack?.length) queue = [...outcome.putBack, ...queue];
        if (outcome.nextFlush?.length) nextFlush.push(...outcome.nextFlush);
        if (outcome.away) {
          mode.away?.(outcome.away.error);
          return;
        }
        if (outcome.pauseMs !== undefined) await timer.sleep(outcome.pauseMs);
      }
    } finally {
      if (nextFlush.length > 0) queue = [...nextFlush, ...queue];
      nextFlush = [];
    }
  }

  return {
    enqueue,
    flush,
    async close() {
      stopTimer();
      await flush();
    },
    stats: () => ({ queued: queue.length + writing.length + nextFlush.length, dropped }),
  };
}
