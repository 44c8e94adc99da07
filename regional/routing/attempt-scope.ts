import { GatewayError } from "../../shared/error.ts";

/** Our own deadline fired for one attempt; the message says which one. */
export class AttemptTimeout extends GatewayError {
  constructor(message: string) {
    super("upstream_timeout", { message });
    this.name = "AttemptTimeout";
  }
}

export interface AttemptScope {
  /** Aborts when the client leaves, a deadline fires, or the attempt is given up. */
  signal: AbortSignal;
  /** Arms (or re-arms) the named deadline; firing it aborts the attempt. */
  deadline(name: "firstByte" | "firstToken" | "idle" | "total", ms: number, message: string): void;
  clear(name: "firstByte" | "firstToken" | "idle"): void;
  /** Ends the attempt: clears every timer. */
  close(): void;
}

/**
 * The timers and the one `AbortSignal` of a single upstream attempt. The client's signal
 * flows in, so a client that disconnects aborts the upstream call too.
 */
export function openAttemptScope(clientSignal: AbortSignal): AttemptScope {
  const controller = new AbortController();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const signal = AbortSignal.any([clientSignal, controller.signal]);

  const clear = (name: string) => {
    const timer = timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    timers.delete(name);
  };

  return {
    signal,
    deadline(name, ms, message) {
      clear(name);
      timers.set(name, setTimeout(() => controller.abort(new AttemptTimeout(message)), ms));
    },
    clear,
    close() {
      for (const name of [...timers.keys()]) clear(name);
    },
  };
}
