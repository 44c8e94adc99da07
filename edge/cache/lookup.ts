import type { Acceptance, CacheEntry, EntryMeta } from "./entry.ts";
import type { L1Hit } from "./l1.ts";
import type { CachePlan } from "./rules.ts";

/** What the lookup found: an L1 hit (body unread) or an L2 entry. */
export type Found =
  | { level: "memory"; meta: EntryMeta; entry: CacheEntry }
  | { level: "edge"; meta: EntryMeta; hit: L1Hit }
  | { level: "redis"; meta: EntryMeta; entry: CacheEntry };

/** What `cacheLookup` decided and started for the request, for `cache` to finish. */
export type StartedLookup =
  | { kind: "none"; taken: boolean }
  | { kind: "bypass"; taken: boolean }
  | {
      kind: "cache";
      plan: CachePlan & { kind: "cache" };
      taken: boolean;
      key: string;
      accept: Acceptance;
      found: Promise<Found | null> | null;
      /** How long the key and the lookup took (it overlaps the rate limiter's check). */
      lookupMs: number;
    };
