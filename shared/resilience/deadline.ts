import { GatewayError } from "../error.ts";

/** Our own deadline fired for one attempt; the message says which one. */
export class AttemptTimeout extends GatewayError {
  constructor(message: string) {
    super("upstream_timeout", { message });
    this.name = "AttemptTimeout";
  }
}

export type DeadlineName = "firstByte" | "firstToken" | "idle" | "total";

export interface AttemptScope {
  /** Aborts when the client leaves, a deadline fires, or the attempt is given up. */
  signal: AbortSignal;
  /** Arms (or re-arms) the named deadline; firing it aborts the attempt. */
  deadline(name: DeadlineName, ms: number, message: string): void;
  /**
   * Arms the `idle` deadline: the attempt is aborted once `ms` pass without a call of the
   * returned `touch`. One timer for the whole stream, not one per chunk: when it fires early
   * (touched since), it is set again for what is left.
   */
  idle(ms: number, message: string): () => void;
  clear(name: DeadlineName): void;
  /** Ends the attempt: clears every timer. */
  close(): void;
}

/**
 * The timers and the one `AbortSignal` of a single upstream attempt. The client's signal
 * flows in, so a client that disconnects aborts the upstream call too.
 */
export function openAttemptScope(clientSignal: AbortSignal): AttemptScope {
  const controller = new AbortController();
  const timers = new Map<DeadlineName, ReturnType<typeof setTimeout>>();
  // One listener, removed on close, rather than AbortSignal.any: that costs every attempt a third
  // signal and, on Node 20, bookkeeping that outlives it until a garbage collection.
  const clientLeft = () => controller.abort(clientSignal.reason);
  if (clientSignal.aborted) clientLeft();
  else clientSignal.addEventListener("abort", clientLeft, { once: true });
  const signal = controller.signal;

  const clear = (name: DeadlineName) => {
    const timer = timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    timers.delete(name);
  };

  return {
    signal,
    deadline(name, ms, message) {
      clear(name);
      timers.set(
        name,
        setTimeout(() => controller.abort(new AttemptTimeout(message)), ms),
      );
    },
    idle(ms, message) {
      let touchedAt = performance.now();
      const check = () => {
        const quietMs = performance.now() - touchedAt;
        if (quietMs >= ms) controller.abort(new AttemptTimeout(message));
        else timers.set("idle", setTimeout(check, ms - quietMs));
      };
      clear("idle");
      timers.set("idle", setTimeout(check, ms));
      return () => {
        touchedAt = performance.now();
      };
    },
    clear,
    close() {
      for (const name of [...timers.keys()]) clear(name);
      clientSignal.removeEventListener("abort", clientLeft);
    },
  };
}

/**
 * `work`, or `onTimeout()`'s error when it has not settled within `ms`. The timer is
 * cleared either way; `work` itself is not cancelled (pass it a signal for that).
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** `work`, or the signal's reason as soon as it aborts — whichever comes first. */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
