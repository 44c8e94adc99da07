import { Worker } from "node:worker_threads";

/**
 * Sleeps with sub-millisecond precision and without spinning.
 *
 * `setTimeout` fires on whole-millisecond loop ticks, so a 2 ms sleep lasts anywhere from
 * about 1 to 3 ms depending on where in the millisecond the request arrived. In a
 * back-to-back request loop that phase locks onto the tick, and by a different amount on
 * every path, which biases exactly the sub-millisecond difference the bench exists to
 * measure. Here a worker thread waits on `Atomics.wait` (a timed wait with microsecond
 * resolution) for the earliest deadline and wakes the main thread with a message.
 */
export interface PreciseSleeper {
  sleep(ms: number): Promise<void>;
  close(): Promise<void>;
}

const none = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
/** Deadlines this close are due together: one wake-up serves them all. */
const coalesceNs = 20_000n;

// Plain JS so the worker needs no TypeScript loader. Slot 0 of `generation` changes whenever
// `deadline[0]` (ns on the shared monotonic clock) does; the worker re-reads on every change.
const workerSource = `
const { workerData, parentPort } = require("node:worker_threads");
const generation = new Int32Array(workerData.generation);
const deadline = new BigInt64Array(workerData.deadline);
for (;;) {
  const seen = Atomics.load(generation, 0);
  const due = Atomics.load(deadline, 0);
  const waitMs = Number(due - process.hrtime.bigint()) / 1e6;
  if (due >= ${none}n) Atomics.wait(generation, 0, seen);
  else if (waitMs > 0) Atomics.wait(generation, 0, seen, waitMs);
  else {
    parentPort.postMessage(0);
    Atomics.wait(generation, 0, seen);
  }
}
`;

export function createPreciseSleeper(): PreciseSleeper {
  const generation = new Int32Array(new SharedArrayBuffer(4));
  const deadline = new BigInt64Array(new SharedArrayBuffer(8));
  Atomics.store(deadline, 0, none);
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { generation: generation.buffer, deadline: deadline.buffer },
  });
  worker.unref();
  const pending: Array<{ at: bigint; resolve: () => void }> = [];

  const publish = (): void => {
    let earliest = none;
    for (const entry of pending) if (entry.at < earliest) earliest = entry.at;
    Atomics.store(deadline, 0, earliest);
    Atomics.add(generation, 0, 1);
    Atomics.notify(generation, 0);
  };

  worker.on("message", () => {
    const now = process.hrtime.bigint() + coalesceNs;
    for (let i = pending.length - 1; i >= 0; i--) {
      const entry = pending[i];
      if (entry && entry.at <= now) {
        pending.splice(i, 1);
        entry.resolve();
      }
    }
    if (pending.length === 0) worker.unref();
    publish();
  });

  return {
    sleep(ms) {
      if (ms <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const at = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
        pending.push({ at, resolve });
        worker.ref();
        if (at < Atomics.load(deadline, 0)) publish();
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
