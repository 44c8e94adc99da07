/** What the transport under the app provides: the faults a `Response` cannot express. */
export interface MockBindings {
  /** Drops the connection of the current request without an answer. */
  reset(): void;
  /** Drops it in the middle of the body; without it, the body stream errors instead. */
  dropMidBody?: () => void;
  /**
   * The caller's own signal, when the transport has it. `request.signal` only follows it
   * while the Request object lives (undici holds it weakly), so a stall waiting on it after
   * the Request was collected would never learn the caller left.
   */
  signal?: AbortSignal;
}
