/** How a batcher keeps time: Node's timers in the service, a hand-driven one in tests. */
export interface BatchTimer {
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

/** Node's timers, unref'd: a batcher never keeps the process alive on its own. */
export const nodeTimer: BatchTimer = {
  every(ms, tick) {
    const interval = setInterval(tick, ms);
    interval.unref();
    return () => clearInterval(interval);
  },
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
};
