/**
 * Reads of an async iterator that reject as soon as `signal` aborts, with its reason — for a
 * stream read chunk after chunk. One abort listener for all the reads, not one added and
 * removed per read (`untilAborted` does that, which on Node costs more than the chunk itself).
 */
export interface AbortableReads<T> {
  next(): Promise<IteratorResult<T>>;
  /** Removes the listener; call once the reads are over. */
  release(): void;
}

export function abortableReads<T>(iterator: AsyncIterator<T>, signal: AbortSignal): AbortableReads<T> {
  let rejectRead: ((reason: unknown) => void) | undefined;
  const onAbort = () => rejectRead?.(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    next() {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        rejectRead = reject;
        iterator.next().then(resolve, reject);
      });
    },
    release() {
      rejectRead = undefined;
      signal.removeEventListener("abort", onAbort);
    },
  };
}
