import { Redis } from "ioredis";
import { maxSignatureAgeS } from "../../shared/signing.ts";
import type { Logger } from "../logger.ts";
import { watchRedis, type RedisStatus } from "../redis-status.ts";

/**
 * Remembers the nonces of signed calls for as long as their signature could still be
 * accepted, and says whether one was seen before: a signed call is taken once. In memory
 * (bounded; the oldest forgotten first), and with `REDIS_URL` also in Redis, so every
 * regional instance of the region refuses a call another one took. Redis unreachable: each
 * instance still refuses what it saw itself, and it is logged.
 */
export interface ReplayGuard {
  /** True the first time a nonce is offered within the window, false after. */
  firstUse(nonce: string): Promise<boolean>;
  /** Its Redis connection, for `/health/detailed`; null without `REDIS_URL`. */
  redis(): RedisStatus | null;
  close(): Promise<void>;
}

/** A signature is accepted within ±`maxSignatureAgeS`: a nonce is kept for the whole span. */
const windowMs = 2 * maxSignatureAgeS * 1000;

export function createReplayGuard(
  options: { redisUrl?: string; logger?: Logger; maxEntries?: number; now?: () => number } = {},
): ReplayGuard {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 200_000;
  const seen = new Map<string, number>();
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 500,
        connectTimeout: 1_000,
        retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
      })
    : undefined;
  redis?.on("error", () => {});
  const watch = redis && watchRedis(redis);

  function firstLocally(nonce: string): boolean {
    const at = now();
    const until = seen.get(nonce);
    if (until !== undefined && until > at) return false;
    // Drop what has expired from the oldest end, then the oldest when full.
    for (const [oldest, expiry] of seen) {
      if (expiry > at && seen.size < maxEntries) break;
      seen.delete(oldest);
    }
    seen.set(nonce, at + windowMs);
    return true;
  }

  return {
    async firstUse(nonce) {
      if (!firstLocally(nonce)) return false;
      if (!redis) return true;
      try {
        return (await redis.set(`bw:nonce:${nonce}`, "1", "PX", windowMs, "NX")) === "OK";
      } catch (error) {
        watch?.failed();
        options.logger?.warn("replay guard: Redis unreachable, nonces checked per instance", { error });
        return true;
      }
    },
    redis: () => watch?.status() ?? null,
    async close() {
      redis?.disconnect();
    },
  };
}
