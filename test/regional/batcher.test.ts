import { describe, expect, it } from "vitest";
import { createBestEffortBatcher, createDurableBatcher, type BestEffortResult } from "../../regional/batching/batcher.ts";
import type { BatchTimer } from "../../regional/batching/timer.ts";

/** A timer the test drives: `tick()` is the flush interval passing, `wake()` ends a pause. */
function handTimer() {
  const ticks = new Set<() => void>();
  const sleeps: { ms: number; wake: () => void }[] = [];
  const timer: BatchTimer = {
    every(_ms, tick) {
      ticks.add(tick);
      return () => ticks.delete(tick);
    },
    sleep: (ms) => new Promise<void>((wake) => sleeps.push({ ms, wake })),
  };
  return {
    timer,
    tick: () => ticks.forEach((tick) => tick()),
    running: () => ticks.size > 0,
    sleeps,
  };
}

/** A size-triggered flush starts on the next turn of the event loop. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

const away = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });

describe("the batcher", () => {
  it("flushes once flushEvents items are queued, a whole burst as one batch", async () => {
    const { timer } = handTimer();
    const batches: number[][] = [];
    const batcher = createBestEffortBatcher<number>({
      flushEvents: 3,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      maxQueued: 100,
      timer,
      write: async (batch) => void batches.push(batch),
    });
    batcher.add(1);
    batcher.add(2);
    await nextTurn();
    expect(batches).toEqual([]);

    for (const item of [3, 4, 5]) batcher.add(item);
    await nextTurn();
    await batcher.flush();
    expect(batches).toEqual([[1, 2, 3, 4, 5]]);
    expect(batcher.stats()).toEqual({ queued: 0, dropped: 0 });
  });

  it("flushes a small queue when the interval passes, not before", async () => {
    const { timer, tick } = handTimer();
    const batches: string[][] = [];
    const written = deferred();
    const batcher = createBestEffortBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 1_000,
      maxBatch: 100,
      maxQueued: 100,
      timer,
      async write(batch) {
        batches.push(batch);
        written.resolve();
        return undefined;
      },
    });
    batcher.add("a");
    await nextTurn();
    expect(batches).toEqual([]);
    expect(batcher.stats().queued).toBe(1);

    tick();
    await written.promise;
    expect(batches).toEqual([["a"]]);
  });

  it("writes one batch at a time: a flush asked for during a write joins it, and what came meanwhile follows in it", async () => {
    const { timer } = handTimer();
    const batches: number[][] = [];
    const first = deferred();
    const batcher = createBestEffortBatcher<number>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 2,
      maxQueued: 100,
      timer,
      async write(batch) {
        batches.push(batch);
        if (batches.length === 1) await first.promise;
        return undefined;
      },
    });
    for (const item of [1, 2, 3]) batcher.add(item);
    const flushing = batcher.flush();
    batcher.add(4);
    expect(batcher.flush()).toBe(flushing);
    expect(batches).toEqual([[1, 2]]);
    // In the batch being written or waiting, all four are still to be written.
    expect(batcher.stats().queued).toBe(4);

    first.resolve();
    await flushing;
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("close flushes what is queued and stops the timer", async () => {
    const { timer, running } = handTimer();
    const batches: number[][] = [];
    const batcher = createBestEffortBatcher<number>({
      flushEvents: 100,
      flushIntervalMs: 1_000,
      maxBatch: 100,
      maxQueued: 100,
      timer,
      write: async (batch) => void batches.push(batch),
    });
    batcher.add(7);
    expect(running()).toBe(true);
    await batcher.close();
    expect(batches).toEqual([[7]]);
    expect(running()).toBe(false);
  });
});

describe("the best-effort batcher while its store is away", () => {
  it("keeps at most maxQueued items, dropping the oldest and counting each drop", async () => {
    const { timer } = handTimer();
    let up = false;
    const batches: number[][] = [];
    const drops: number[] = [];
    const held: number[] = [];
    const batcher = createBestEffortBatcher<number>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      maxQueued: 3,
      timer,
      async write(batch) {
        if (!up) throw away;
        batches.push(batch);
        return undefined;
      },
      onDropped: (dropped) => drops.push(dropped),
      onHeld: (queued) => held.push(queued),
    });
    for (const item of [1, 2, 3]) batcher.add(item);
    await batcher.flush();
    expect(held).toEqual([3]);
    for (const item of [4, 5]) batcher.add(item);
    expect(batcher.stats()).toEqual({ queued: 3, dropped: 2 });
    expect(drops).toEqual([1, 2]);

    up = true;
    await batcher.flush();
    expect(batches).toEqual([[3, 4, 5]]);
    expect(batcher.stats()).toEqual({ queued: 0, dropped: 2 });
  });

  it("puts back what the store did not take and tries items refused this time at the next flush, in their order", async () => {
    const { timer } = handTimer();
    const results: BestEffortResult<string>[] = [
      { retryLater: ["a"], held: { items: ["c", "d"], error: away } },
      { retryLater: ["a"] },
      {},
    ];
    const batches: string[][] = [];
    const batcher = createBestEffortBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      maxQueued: 100,
      timer,
      async write(batch) {
        batches.push(batch);
        return results[batches.length - 1];
      },
    });
    for (const item of ["a", "b", "c", "d"]) batcher.add(item);
    await batcher.flush();
    expect(batcher.stats().queued).toBe(3);
    batcher.add("e");
    await batcher.flush();
    // "a" was refused again: it waits for the flush after, not for another try in this one.
    expect(batches).toEqual([
      ["a", "b", "c", "d"],
      ["a", "c", "d", "e"],
    ]);
    expect(batcher.stats().queued).toBe(1);
    await batcher.flush();
    expect(batches[2]).toEqual(["a"]);
    expect(batcher.stats().queued).toBe(0);
  });
});

describe("the durable batcher", () => {
  it("resolves a waiter once the primary store took its batch, without the fallback", async () => {
    const { timer } = handTimer();
    const primary: string[][] = [];
    const fallback: string[][] = [];
    const batcher = createDurableBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      retryAfterMs: 500,
      timer,
      sink: { primary: async (batch) => void primary.push(batch), fallback: async (batch) => void fallback.push(batch) },
    });
    batcher.add("queued-first");
    await batcher.addDurable("durable");
    expect(primary).toEqual([["queued-first", "durable"]]);
    expect(fallback).toEqual([]);
  });

  it("resolves a waiter only after the fallback write when the primary store fails", async () => {
    const { timer } = handTimer();
    const fallbackWrite = deferred();
    const failures: unknown[] = [];
    const fallback: string[][] = [];
    const batcher = createDurableBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      retryAfterMs: 500,
      timer,
      sink: {
        primary: async () => await Promise.reject(away),
        primaryFailed: (error) => failures.push(error),
        async fallback(batch) {
          fallback.push(batch);
          await fallbackWrite.promise;
        },
      },
    });
    let resolved = false;
    const durable = batcher.addDurable("event").then(() => (resolved = true));
    await nextTurn();
    await nextTurn();
    expect(failures).toEqual([away]);
    expect(fallback).toEqual([["event"]]);
    expect(resolved).toBe(false);
    expect(batcher.stats().queued).toBe(1);

    fallbackWrite.resolve();
    await durable;
    expect(resolved).toBe(true);
    expect(batcher.stats()).toEqual({ queued: 0, dropped: 0 });
  });

  it("skips the primary store while it is closed, and catches up before the next batch", async () => {
    const { timer } = handTimer();
    let open = false;
    const order: string[] = [];
    const batcher = createDurableBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      retryAfterMs: 500,
      timer,
      sink: {
        primaryOpen: () => open,
        primary: async (batch) => void order.push(`primary ${batch.join(",")}`),
        fallback: async (batch) => void order.push(`fallback ${batch.join(",")}`),
        catchUp: {
          due: () => open && order.at(-1)?.startsWith("fallback") === true,
          run: async () => void order.push("catch up"),
        },
      },
    });
    await batcher.addDurable("a");
    open = true;
    await batcher.addDurable("b");
    expect(order).toEqual(["fallback a", "catch up", "primary b"]);
  });

  it("rejects the waiter when neither store takes the batch, keeps the item and writes it after retryAfterMs", async () => {
    const { timer, sleeps } = handTimer();
    let fallbackUp = false;
    const fallback: string[][] = [];
    const lost: string[][] = [];
    const batcher = createDurableBatcher<string>({
      flushEvents: 100,
      flushIntervalMs: 60_000,
      maxBatch: 100,
      retryAfterMs: 500,
      timer,
      sink: {
        primary: async () => await Promise.reject(away),
        async fallback(batch) {
          if (!fallbackUp) throw new Error("ENOSPC: no space left on device");
          fallback.push(batch);
        },
        unwritten: (batch) => lost.push(batch),
      },
    });
    await expect(batcher.addDurable("event")).rejects.toThrow("ENOSPC");
    expect(lost).toEqual([["event"]]);
    expect(sleeps.map((sleep) => sleep.ms)).toEqual([500]);
    expect(batcher.stats().queued).toBe(1);

    fallbackUp = true;
    sleeps[0]!.wake();
    await batcher.flush();
    expect(fallback).toEqual([["event"]]);
    expect(batcher.stats().queued).toBe(0);
  });
});
