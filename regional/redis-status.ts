import type { Redis } from "ioredis";

/** One Redis connection as operators see it: never its URL or host. */
export interface RedisStatus {
  /** Connected and answering (ioredis' `ready`); false while it connects, reconnects or after close. */
  up: boolean;
  /** When a connection attempt or a command last failed, in ms since the epoch; null if none has. */
  lastErrorAt: number | null;
}

export interface RedisWatch {
  status(): RedisStatus;
  /** A command failed (a timeout while connected says nothing to the connection's own events). */
  failed(): void;
}

/** Follows a client's connection and failures; the owner keeps its own `error` listener for logging. */
export function watchRedis(redis: Redis, now: () => number = Date.now): RedisWatch {
  let lastErrorAt: number | null = null;
  const failed = (): void => {
    lastErrorAt = now();
  };
  redis.on("error", failed);
  return { status: () => ({ up: redis.status === "ready", lastErrorAt }), failed };
}
