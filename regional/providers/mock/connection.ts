/**
 * How the mock's connection misbehaves, in the shapes Node's fetch (undici) uses, so the
 * adapters meet the same errors as with a real provider.
 */

function econnreset(): NodeJS.ErrnoException {
  return Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });
}

/** What `fetch` rejects with when the peer resets the connection before answering. */
export function connectionReset(): TypeError {
  return new TypeError("fetch failed", { cause: econnreset() });
}

/** What a body read fails with when the connection breaks mid-body. */
export function bodyTerminated(): TypeError {
  return new TypeError("terminated", { cause: econnreset() });
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
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

/** Rejects with the signal's reason once it aborts; until then, nothing. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

/** The promise's outcome, or the signal's reason if it aborts first, as `fetch` does. */
export async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return await Promise.race([promise, untilAborted(signal)]);
}
