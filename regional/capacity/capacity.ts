import { createInFlight } from "./in-flight.ts";
import { createLearnedLimits, type HeaderReader, type LearnedDimension } from "./learned-limits.ts";

export type { HeaderReader } from "./learned-limits.ts";

/** Concurrency limits that bind a target: its provider's (all its models together) and its model's own. */
export interface ConcurrencyLimits {
  provider?: number;
  model?: number;
}

/** A target as capacity sees it: `key` is `provider/model`. */
export interface CapacityTarget {
  key: string;
  provider: { name: string };
  limits: ConcurrencyLimits;
}

/** Why a target cannot take a call now. */
export type CapacityRefusal =
  { kind: "saturated"; limit: "provider" | "model"; maxConcurrent: number } | { kind: "exhausted"; retryAfterMs: number };

export interface CapacitySnapshot {
  providers: Array<{ provider: string; inFlight: number; maxConcurrent?: number }>;
  targets: Array<{ target: string; inFlight: number; maxConcurrent?: number; learned: LearnedDimension[] }>;
}

export interface Capacity {
  /** Why `target` cannot take a call now, or undefined when it can. Cheap: a few map reads. */
  refusal(target: CapacityTarget): CapacityRefusal | undefined;
  hasRoom(target: CapacityTarget): boolean;
  /** Counts a call in flight at the target and its provider until the returned release (idempotent) runs. */
  acquire(target: CapacityTarget): () => void;
  /** An upstream call is sent: one request fewer remains of what the provider last said. */
  sent(target: CapacityTarget): void;
  /** Learns the provider's rate-limit headers from a successful answer. */
  learn(target: CapacityTarget, header: HeaderReader): void;
  /** Milliseconds until the provider said it would take calls again; 0 when it may be called. */
  exhaustedFor(target: CapacityTarget): number;
  inFlight(target: CapacityTarget): number;
  /** Read-only, for `/admin/queue` and metrics: calls in flight and what providers said remains. */
  snapshot(): CapacitySnapshot;
}

/**
 * This instance's use of each provider: calls in flight per provider and per target against
 * their `maxConcurrent`, and what providers said of their own rate limits. A target at a limit,
 * or out of requests or tokens until its reset, is passed over for the next one.
 */
export function createCapacity(now: () => number = Date.now): Capacity {
  const targets = createInFlight();
  const providers = createInFlight();
  const learned = createLearnedLimits();
  /** Every target that took a call, with its limits: what the snapshot lists. */
  const seen = new Map<string, { provider: string; limits: ConcurrencyLimits }>();

  const refusal = (target: CapacityTarget): CapacityRefusal | undefined => {
    const { provider, model } = target.limits;
    if (model !== undefined && targets.count(target.key) >= model) return { kind: "saturated", limit: "model", maxConcurrent: model };
    if (provider !== undefined && providers.count(target.provider.name) >= provider)
      return { kind: "saturated", limit: "provider", maxConcurrent: provider };
    const waitMs = learned.exhaustedFor(target.key, now());
    return waitMs > 0 ? { kind: "exhausted", retryAfterMs: waitMs } : undefined;
  };

  return {
    refusal,
    hasRoom: (target) => refusal(target) === undefined,
    acquire(target) {
      if (!seen.has(target.key)) seen.set(target.key, { provider: target.provider.name, limits: target.limits });
      targets.add(target.key);
      providers.add(target.provider.name);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        targets.remove(target.key);
        providers.remove(target.provider.name);
      };
    },
    sent: (target) => learned.sent(target.key),
    learn: (target, header) => learned.learn(target.key, header, now()),
    exhaustedFor: (target) => learned.exhaustedFor(target.key, now()),
    inFlight: (target) => targets.count(target.key),
    snapshot() {
      const learnedNow = new Map(learned.list(now()).map((entry) => [entry.key, entry.dimensions]));
      const providerLimits = new Map<string, number | undefined>();
      for (const { provider, limits } of seen.values()) providerLimits.set(provider, limits.provider ?? providerLimits.get(provider));
      return {
        providers: [...providerLimits].map(([provider, maxConcurrent]) => ({
          provider,
          inFlight: providers.count(provider),
          ...(maxConcurrent !== undefined && { maxConcurrent }),
        })),
        targets: [...new Set([...seen.keys(), ...learnedNow.keys()])].map((key) => {
          const maxConcurrent = seen.get(key)?.limits.model;
          return {
            target: key,
            inFlight: targets.count(key),
            ...(maxConcurrent !== undefined && { maxConcurrent }),
            learned: learnedNow.get(key) ?? [],
          };
        }),
      };
    },
  };
}
