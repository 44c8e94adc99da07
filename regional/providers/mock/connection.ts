import { untilAborted } from "../../../shared/resilience/deadline.ts";

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

/** Rejects with the signal's reason once it aborts; until then, nothing (a silent connection). */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return untilAborted(new Promise<never>(() => {}), signal);
}
