/** The last waits of a queue (for p50/p99) and their moving average. */
export interface WaitWindow {
  samples: Float64Array;
  next: number;
  filled: number;
  ewmaMs: number;
}

export interface WaitSummary {
  p50Ms: number;
  p99Ms: number;
  ewmaMs: number;
}

/** Weight of the newest wait in the average: about the last 20 count. */
const alpha = 0.1;

export const waitWindow = (size = 512): WaitWindow => ({ samples: new Float64Array(size), next: 0, filled: 0, ewmaMs: 0 });

/** Allocation-free: it runs on every admission, the empty queue's included. */
export function recordWait(window: WaitWindow, ms: number): void {
  window.samples[window.next] = ms;
  window.next = (window.next + 1) % window.samples.length;
  if (window.filled < window.samples.length) window.filled += 1;
  window.ewmaMs = window.filled === 1 ? ms : window.ewmaMs + alpha * (ms - window.ewmaMs);
}

/** A moving average alone, for lanes that keep no samples. */
export const nextEwma = (ewmaMs: number, ms: number, first: boolean): number => (first ? ms : ewmaMs + alpha * (ms - ewmaMs));

export function summary(window: WaitWindow): WaitSummary {
  const sorted = window.samples.slice(0, window.filled).sort();
  const at = (q: number) => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0));
  return { p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), ewmaMs: round(window.ewmaMs) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
