import type { Context } from "hono";
import { sleep } from "../../../../shared/resilience/deadline.ts";
import type { MockBindings } from "../../../providers/mock/server.ts";

/** The calls a mock marketplace serves, each of which can be faulted on its own. */
export type GpuOperation = "search" | "price" | "create" | "list" | "get" | "destroy";

/**
 * A misbehaviour of one operation:
 * - `status`: answer with this status and the marketplace's error body (or `body`), doing nothing;
 * - `latencyMs`: wait before doing anything;
 * - `reset`: drop the connection without doing anything;
 * - `answerDelayMs`: do the work (the instance is created), then wait before answering —
 *   with a caller's timeout shorter than this, "created but the answer was lost";
 * - `times`: only the next N calls (default: until cleared).
 */
export interface GpuFault {
  status?: number;
  /** The answer's body with `status`, e.g. a 200 with `{"success": false}`; unset, the marketplace's error shape. */
  body?: unknown;
  latencyMs?: number;
  reset?: boolean;
  answerDelayMs?: number;
  times?: number;
}

export interface GpuFaults {
  inject(operation: GpuOperation | "*", fault: GpuFault): void;
  clear(): void;
  /** Calls that reached the mock for `operation`, faulted ones included. */
  calls(operation: GpuOperation): number;
}

export interface GpuFaultRunner extends GpuFaults {
  /** Serves one call: applies the operation's fault around `handle`. */
  run(
    c: Context<{ Bindings: MockBindings }>,
    operation: GpuOperation,
    errorBody: (status: number, message: string) => unknown,
    handle: () => Response | Promise<Response>,
  ): Promise<Response>;
}

export function createGpuFaults(): GpuFaultRunner {
  const faults = new Map<GpuOperation | "*", { fault: GpuFault; left: number }>();
  const counts = new Map<GpuOperation, number>();

  function take(operation: GpuOperation): GpuFault | undefined {
    for (const key of [operation, "*"] as const) {
      const entry = faults.get(key);
      if (!entry) continue;
      entry.left -= 1;
      if (entry.left <= 0) faults.delete(key);
      return entry.fault;
    }
    return undefined;
  }

  return {
    inject(operation, fault) {
      faults.set(operation, { fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      faults.clear();
    },
    calls: (operation) => counts.get(operation) ?? 0,
    async run(c, operation, errorBody, handle) {
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      const fault = take(operation);
      const signal = c.req.raw.signal;
      if (fault) {
        if (fault.latencyMs) await sleep(fault.latencyMs, signal);
        if (fault.reset) {
          c.env?.reset();
          return new Response(null, { status: 502 });
        }
        if (fault.status !== undefined)
          return Response.json(fault.body ?? errorBody(fault.status, `mock: injected status ${fault.status}`), { status: fault.status });
      }
      const response = await handle();
      if (fault?.answerDelayMs) await sleep(fault.answerDelayMs, signal);
      return response;
    },
  };
}
