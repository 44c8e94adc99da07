import { openAttemptScope, type AttemptScope } from "./deadline.ts";
import type { Admission } from "./lease.ts";
import { classifyFailure, type Classified } from "./outcome.ts";

const ok: Classified = { outcome: "ok", transport: false };

export interface GuardedCall<T> {
  /** Asks the breakers (and anything else that may refuse) for a lease. */
  admit(): Admission | Promise<Admission>;
  /** The caller's signal: its abort ends the attempt as `client_gone`. */
  signal: AbortSignal;
  /** The attempt's deadline, start to end. */
  totalMs: number;
  totalMessage: string;
  call(scope: AttemptScope): Promise<T>;
  /** An answer can still be a failure of the upstream (an origin's own 5xx); unset, every answer is `ok`. */
  judge?(result: T): Classified;
  /** Leaves the scope open for the caller (a stream that goes on); it must close it. */
  keepScope?: boolean;
}

export type AttemptEnd<T> =
  | { kind: "refused"; retryAfterMs: number; reason: string }
  | { kind: "served"; result: T; classified: Classified; scope: AttemptScope }
  | { kind: "failed"; error: unknown; classified: Classified };

export type FailedAttempt = Extract<AttemptEnd<unknown>, { kind: "failed" }>;

/**
 * One attempt: lease → deadline → call → classify → settle. The lease is settled on every
 * path (answer, failure, abort, exception), so no probe slot outlives its call.
 */
export async function guardedAttempt<T>(guarded: GuardedCall<T>): Promise<AttemptEnd<T>> {
  const admission = await guarded.admit();
  if (!admission.admitted) return { kind: "refused", retryAfterMs: admission.retryAfterMs, reason: admission.reason };
  const scope = openAttemptScope(guarded.signal);
  scope.deadline("total", guarded.totalMs, guarded.totalMessage);
  try {
    const result = await guarded.call(scope);
    const classified = guarded.judge?.(result) ?? ok;
    admission.lease.settle(classified);
    if (!guarded.keepScope) scope.close();
    return { kind: "served", result, classified, scope };
  } catch (error) {
    scope.close();
    const classified = classifyFailure(error, guarded.signal.aborted);
    admission.lease.settle(classified);
    return { kind: "failed", error, classified };
  }
}
