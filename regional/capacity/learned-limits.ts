import { rateLimitHeaders, untilReset } from "../providers/upstream-error.ts";

/** Reads one response header by name (null when absent). */
export type HeaderReader = (name: string) => string | null;

/** One dimension of a provider's rate limit (requests, tokens...) as it last said. */
export interface LearnedDimension {
  dimension: string;
  remaining: number;
  /** When the provider said it fills up again (epoch ms, the router's clock). */
  resetAt: number;
}

export interface LearnedLimits {
  /** Takes what a successful answer's `x-ratelimit-*` / `anthropic-ratelimit-*` headers say. */
  learn(key: string, header: HeaderReader, now: number): void;
  /** A call is on its way: one request fewer remains until the provider says again. */
  sent(key: string): void;
  /** Milliseconds until the provider said it would take calls again; 0 when some remain (or it never said). */
  exhaustedFor(key: string, now: number): number;
  list(now: number): Array<{ key: string; dimensions: LearnedDimension[] }>;
}

/**
 * What each target's provider last said it would still take before its limits reset, so a
 * target known to be out of requests or tokens is passed over until then, before it answers
 * 429. Only dimensions with both a remaining count and a reset are kept: without a time, being
 * out says nothing about when to come back. What has reset is forgotten.
 */
export function createLearnedLimits(): LearnedLimits {
  const learned = new Map<string, LearnedDimension[]>();
  const current = (key: string, now: number) => {
    const dimensions = learned.get(key);
    if (dimensions === undefined) return undefined;
    if (dimensions.every((dimension) => dimension.resetAt > now)) return dimensions;
    const live = dimensions.filter((dimension) => dimension.resetAt > now);
    if (live.length === 0) learned.delete(key);
    else learned.set(key, live);
    return live;
  };

  return {
    learn(key, header, now) {
      let dimensions: LearnedDimension[] | undefined;
      for (const names of rateLimitHeaders) {
        const remainingText = header(names.remaining);
        if (remainingText === null) continue;
        const remaining = Number(remainingText.trim());
        const resetS = untilReset(header(names.reset), now);
        if (!Number.isFinite(remaining) || resetS === undefined) continue;
        (dimensions ??= []).push({ dimension: names.dimension, remaining, resetAt: now + resetS * 1000 });
      }
      if (dimensions) learned.set(key, dimensions);
    },
    sent(key) {
      const requests = learned.get(key)?.find((dimension) => dimension.dimension === "requests");
      if (requests && requests.remaining > 0) requests.remaining -= 1;
    },
    exhaustedFor(key, now) {
      let longest = 0;
      for (const dimension of current(key, now) ?? []) {
        if (dimension.remaining <= 0) longest = Math.max(longest, dimension.resetAt - now);
      }
      return longest;
    },
    list(now) {
      return [...learned.keys()].flatMap((key) => {
        const dimensions = current(key, now);
        return dimensions && dimensions.length > 0 ? [{ key, dimensions: dimensions.map((dimension) => ({ ...dimension })) }] : [];
      });
    },
  };
}
