import { GatewayError } from "../../shared/error.ts";

export interface SocketSlots {
  /**
   * Waits for a slot, first come first served. Rejects with `overloaded` after the queue
   * timeout, or with the signal's reason when it aborts; either way the waiter leaves the
   * queue at once. The returned function gives the slot back (only the first call counts).
   */
  acquire(signal: AbortSignal): Promise<() => void>;
  /** Slots in use and callers waiting. */
  usage(): { inUse: number; waiting: number };
}

/** Our own capacity ran out, not the provider's: no upstream status, no transport fault. */
export function poolExhausted(limits: { maxSockets: number; queueTimeoutMs: number }): GatewayError {
  return new GatewayError("overloaded", {
    message: `no connection became free within ${limits.queueTimeoutMs} ms (at most ${limits.maxSockets} at once)`,
    retryAfterS: 1,
  });
}

type Grant = (release: () => void) => void;

/**
 * The connections a provider may use at once. Node's agent queues excess requests too, but
 * a request destroyed while queued there stays queued (and errors only) until a socket
 * frees, so neither a queue deadline nor a client leaving could take effect in time.
 */
export function createSocketSlots(limits: { maxSockets: number; queueTimeoutMs: number }): SocketSlots {
  let inUse = 0;
  const waiting = new Set<Grant>();

  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const [next] = waiting;
      if (!next) {
        inUse -= 1;
        return;
      }
      // The slot passes straight to the next waiter; `inUse` stays as it is.
      waiting.delete(next);
      next(releaser());
    };
  };

  return {
    acquire(signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (inUse < limits.maxSockets) {
        inUse += 1;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve, reject) => {
        const stopWaiting = () => {
          waiting.delete(grant);
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        };
        const grant: Grant = (release) => {
          stopWaiting();
          resolve(release);
        };
        const onAbort = () => {
          stopWaiting();
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          stopWaiting();
          reject(poolExhausted(limits));
        }, limits.queueTimeoutMs);
        signal.addEventListener("abort", onAbort, { once: true });
        waiting.add(grant);
      });
    },
    usage: () => ({ inUse, waiting: waiting.size }),
  };
}
