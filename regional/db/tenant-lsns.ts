import { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { watchRedis, type RedisStatus, type RedisWatch } from "../redis-status.ts";
import { lsnFromHex, lsnToHex, type Lsn } from "./lsn.ts";

/**
 * The commit position of each tenant's last write, so its reads go only to nodes that have
 * replayed it. Kept in memory and, with Redis, shared by every regional instance.
 */
export interface TenantLsns {
  remember(tenantId: string, lsn: Lsn): Promise<void>;
  /** The position the tenant's reads need, or null when any node will do. Throws when Redis cannot answer. */
  required(tenantId: string): Promise<Lsn | null>;
  /** Its Redis connection, for `/health/detailed`; null without a Redis URL. */
  redis(): RedisStatus | null;
  close(): Promise<void>;
}

export interface TenantLsnOptions {
  /** How long a position is remembered; past it, the lag bound alone keeps reads fresh enough. */
  ttlMs: number;
  redisUrl?: string;
  /** Longest wait for a Redis answer before the read goes to the primary instead. */
  redisTimeoutMs?: number;
  logger: Logger;
  now?: () => number;
}

const keyPrefix = "bw:ryw:";
/** Tenants remembered one by one; past this, the oldest fold into one position every tenant's reads need. */
const memoryLimit = 100_000;

const later = (a: Lsn | null, b: Lsn | null): Lsn | null => (a === null ? b : b === null || a > b ? a : b);

// Keeps the larger of the stored and the new position; LSNs are 16 hex digits, compared as two
// 32-bit halves because Lua numbers are doubles and string order depends on Redis' locale.
const rememberMax = `
local current = redis.call('GET', KEYS[1])
local function newer(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 8), 16), tonumber(string.sub(b, 1, 8), 16)
  if ah ~= bh then return ah > bh end
  return tonumber(string.sub(a, 9, 16), 16) > tonumber(string.sub(b, 9, 16), 16)
end
if (not current) or string.len(current) ~= 16 or newer(ARGV[1], current) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

export async function openTenantLsns(options: TenantLsnOptions): Promise<TenantLsns> {
  const now = options.now ?? Date.now;
  // In order of last write, oldest first.
  const memory = new Map<string, { lsn: Lsn; expiresAt: number }>();
  // Evicted positions still count, for everyone: stricter for some tenants, never wrong for any.
  let floor: { lsn: Lsn; expiresAt: number } | null = null;
  const { redis, watch } = options.redisUrl
    ? await connectRedis(options.redisUrl, options.redisTimeoutMs ?? 250, options.logger)
    : { redis: undefined, watch: undefined };

  function fromMemory(tenantId: string): Lsn | null {
    if (floor && floor.expiresAt <= now()) floor = null;
    const entry = memory.get(tenantId);
    if (entry && entry.expiresAt <= now()) memory.delete(tenantId);
    return later(entry && entry.expiresAt > now() ? entry.lsn : null, floor?.lsn ?? null);
  }

  function evictOldest(): void {
    for (const [id, entry] of memory) {
      if (memory.size < memoryLimit * 0.9) return;
      memory.delete(id);
      if (entry.expiresAt <= now()) continue;
      floor = { lsn: later(floor?.lsn ?? null, entry.lsn) ?? entry.lsn, expiresAt: Math.max(floor?.expiresAt ?? 0, entry.expiresAt) };
    }
  }

  return {
    async remember(tenantId, lsn) {
      const known = memory.get(tenantId);
      memory.delete(tenantId);
      if (memory.size >= memoryLimit) evictOldest();
      memory.set(tenantId, { lsn: later(known?.lsn ?? null, lsn) ?? lsn, expiresAt: now() + options.ttlMs });
      if (!redis) return;
      try {
        await redis.eval(rememberMax, 1, keyPrefix + tenantId, lsnToHex(lsn), String(options.ttlMs));
      } catch (error) {
        watch?.failed();
        // The write is committed; only reads through other instances may miss it until it replays.
        options.logger.error("tenant commit position not shared through Redis", { tenantId, error });
      }
    },

    async required(tenantId) {
      const local = fromMemory(tenantId);
      if (!redis) return local;
      const stored = await redis.get(keyPrefix + tenantId).catch((error: unknown) => {
        watch?.failed();
        throw error;
      });
      return later(local, stored ? lsnFromHex(stored) : null);
    },

    redis: () => watch?.status() ?? null,

    async close() {
      memory.clear();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Fails fast rather than queueing: a command while disconnected or slower than `timeoutMs`
 * rejects at once, and the caller reads from the primary instead.
 */
async function connectRedis(url: string, timeoutMs: number, logger: Logger): Promise<{ redis: Redis; watch: RedisWatch }> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1_000),
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  });
  const watch = watchRedis(redis);
  let lastLogged = 0;
  redis.on("error", (error: unknown) => {
    // ioredis reports every failed reconnect; one line per 10 s is enough to see it.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn("redis for read-your-writes unavailable", { error });
  });
  // Commands before the first connect would fail; wait for it a little, then go on without (it keeps trying).
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(timeoutMs, 1_000));
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { redis, watch };
}
