import { degradedHeader, unserved, type Degradations, type DegradationMode } from "../routing/degradation.ts";
import type { Slot, Ticket } from "./fair-queue.ts";
import { effectivePriority } from "./priority.ts";
import type { PriorityStore } from "./priority-store.ts";
import type { AdmissionQueues } from "./queues.ts";

/** What admission is built from (`AppDeps.admission`). */
export interface Admission {
  queues: AdmissionQueues;
  priorities: PriorityStore;
  degradations: Degradations;
}

/** Who asks, as the route knows it. */
export interface Asker {
  auth: { tenantId: string; keyId: string };
  /** The request's `x-breakwater-priority`, which may only lower its priority. */
  askedPriority: string | undefined;
  signal: AbortSignal;
}

export interface Admitted<R, T> {
  value: T;
  /** The request as sent: the client's, capped, or on the fallback model. */
  request: R;
  /** Held until the answer is complete: release it then (a stream, when it ends). */
  slot: Slot | undefined;
  degraded: DegradationMode | undefined;
}

/**
 * Runs `call` for the request's model inside a slot of that model's queue, taken before the
 * router starts (so waiting is never charged to a provider's deadlines or breakers), and
 * applies the route's degradation: while the queue sheds, `reduce_max_tokens` caps what is
 * asked and `fail_fast`/`stale` wait for no slot; when the route could not serve,
 * `fallback_model` runs the request on another model (in that model's queue) and
 * `stale`/`fail_fast` mark the error. Without admission (`undefined`), `call` runs as it is.
 */
export async function admitted<R extends { model: string }, T>(
  admission: Admission | undefined,
  asker: Asker,
  request: R,
  call: (request: R) => Promise<T>,
  capTokens?: (request: R, maxTokens: number) => R | undefined,
): Promise<Admitted<R, T>> {
  if (!admission) return { value: await call(request), request, slot: undefined, degraded: undefined };
  const degradation = admission.degradations.of(request.model);
  const queue = admission.queues.queueFor(request.model);
  const granted = admission.priorities.of(asker.auth);
  const ticket: Ticket = { tenant: asker.auth.tenantId, priority: effectivePriority(granted, asker.askedPriority), signal: asker.signal };
  const shedding = queue?.shedding() ?? false;

  let asked = request;
  let degraded: DegradationMode | undefined;
  if (shedding && degradation?.mode === "reduce_max_tokens") {
    const capped = capTokens?.(request, degradation.maxTokens);
    if (capped) [asked, degraded] = [capped, "reduce_max_tokens"];
  }
  const noWait = shedding && (degradation?.mode === "fail_fast" || degradation?.mode === "stale");
  try {
    const slot = queue ? await queue.admit(noWait ? { ...ticket, noWait } : ticket) : undefined;
    return { value: await released(slot, () => call(asked)), request: asked, slot, degraded };
  } catch (error) {
    if (!degradation || !unserved(error) || asker.signal.aborted) throw error;
    if (degradation.mode === "fallback_model") {
      const fallback = { ...request, model: degradation.model };
      const fallbackQueue = admission.queues.queueFor(fallback.model);
      try {
        const slot = fallbackQueue ? await fallbackQueue.admit(ticket) : undefined;
        return { value: await released(slot, () => call(fallback)), request: fallback, slot, degraded: "fallback_model" };
      } catch {
        // The fallback could not serve either: the route's own failure is the answer.
        throw error;
      }
    }
    if (degradation.mode === "stale" || degradation.mode === "fail_fast") error.headers[degradedHeader] = degradation.mode;
    throw error;
  }
}

/** The slot goes back when the call fails; on success the caller holds it until the answer ends. */
async function released<T>(slot: Slot | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    slot?.release();
    throw error;
  }
}

/** A stream's slot: released when it ends or the client leaves, whichever comes first (once). */
export function heldUntilGone(slot: Slot | undefined, signal: AbortSignal): () => void {
  if (!slot) return () => {};
  if (signal.aborted) {
    slot.release();
    return () => {};
  }
  const release = () => {
    signal.removeEventListener("abort", release);
    slot.release();
  };
  signal.addEventListener("abort", release, { once: true });
  return release;
}
