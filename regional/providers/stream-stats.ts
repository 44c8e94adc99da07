/**
 * Stream chunks skipped because they could not be read, per provider, since the process
 * started. Process-wide on purpose: every route and every app in the process adds to the
 * one tally that `/health` shows.
 */
const skipped = new Map<string, number>();

/** Counts one skipped chunk of `provider`'s. */
export function recordMalformedChunk(provider: string): void {
  skipped.set(provider, (skipped.get(provider) ?? 0) + 1);
}

/** The skipped chunks so far, by provider name. */
export function malformedChunkCounts(): Record<string, number> {
  return Object.fromEntries(skipped);
}
