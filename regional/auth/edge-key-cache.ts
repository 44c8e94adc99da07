import { Redis } from "@upstash/redis";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import type { Logger } from "../logger.ts";

export interface UpstashOptions {
  url?: string;
  token?: string;
}

/** Drops the edge's shared (Upstash) copy of a key record; never throws. */
export type InvalidateEdgeKey = (keyHash: Uint8Array) => Promise<void>;

/**
 * What revoking or changing a key calls so the edge stops trusting its cached record at
 * once instead of within a minute: it deletes the record from Upstash, where every edge
 * location reads it. Without Upstash configured it does nothing (the edge then relies on
 * its cache TTLs alone). A failure is logged, not thrown: the revocation itself stands and
 * the TTLs still bound how long the old record lives.
 */
export function edgeKeyInvalidator(upstash: UpstashOptions, logger: Logger): InvalidateEdgeKey {
  if (!upstash.url || !upstash.token) return async () => {};
  const redis = new Redis({ url: upstash.url, token: upstash.token, retry: { retries: 2 }, enableTelemetry: false });
  return async function invalidateEdgeKey(keyHash) {
    try {
      await redis.del(keyRecordCacheKey(Buffer.from(keyHash).toString("hex")));
    } catch (error) {
      logger.warn("could not drop the edge's cached key record; it expires within 60 s", { error });
    }
  };
}
