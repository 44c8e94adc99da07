/**
 * Waits that end early when the client leaves, so a hanging or stalled request holds no
 * timer after its connection is gone. They resolve (never reject): `false` means the
 * client left and the caller should stop.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (passed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", left);
      resolve(passed);
    };
    const left = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", left, { once: true });
  });
}

/** Until the client leaves. */
export function untilGone(signal: AbortSignal): Promise<false> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(false), { once: true }));
}
