import { timingSafeEqual } from "node:crypto";
import type { Db } from "../db/index.ts";
import { generateApiKey, hashApiKey, keyPrefix, looksLikeApiKey } from "./api-key.ts";

export interface KeyRecord {
  keyId: string;
  tenantId: string;
  prefix: string;
}

export interface KeyStore {
  /** The active key's record, or null for an unknown, revoked or disabled key. */
  verify(key: string): Promise<KeyRecord | null>;
  /** Creates a tenant-owned key and returns it; only its hash is kept. */
  create(tenantId: string, name?: string, key?: string): Promise<{ key: string; record: KeyRecord }>;
}

interface CacheEntry {
  record: KeyRecord | null;
  expiresAt: number;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  prefix: string;
  key_hash: Buffer;
}

/**
 * API keys in Postgres, looked up by their visible prefix and compared by hash in
 * constant time. Verified answers are kept in memory for `cacheTtlMs` (unknown keys for
 * a shorter time) so the request path does not wait on the database.
 */
export function createKeyStore(db: Db, options: { cacheTtlMs: number; now?: () => number }): KeyStore {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const negativeTtlMs = Math.min(options.cacheTtlMs, 1_000);

  async function lookup(key: string, hash: Buffer): Promise<KeyRecord | null> {
    const rows = await db.read()<KeyRow[]>`
      select k.id, k.tenant_id, k.prefix, k.key_hash
      from api_keys k join tenants t on t.id = k.tenant_id
      where k.prefix = ${keyPrefix(key)} and k.status = 'active' and t.status = 'active'`;
    const match = rows.find((row) => row.key_hash.length === hash.length && timingSafeEqual(row.key_hash, hash));
    return match ? { keyId: match.id, tenantId: match.tenant_id, prefix: match.prefix } : null;
  }

  return {
    async verify(key) {
      if (!looksLikeApiKey(key)) return null;
      const hash = hashApiKey(key);
      const cacheKey = hash.toString("base64");
      const cached = cache.get(cacheKey);
      if (cached && cached.expiresAt > now()) return cached.record;
      const record = await lookup(key, hash);
      if (cache.size > 10_000) cache.clear();
      cache.set(cacheKey, { record, expiresAt: now() + (record ? options.cacheTtlMs : negativeTtlMs) });
      return record;
    },

    async create(tenantId, name = "", key = generateApiKey()) {
      const [row] = await db.write<{ id: string }[]>`
        insert into api_keys (tenant_id, name, prefix, key_hash)
        values (${tenantId}, ${name}, ${keyPrefix(key)}, ${hashApiKey(key)})
        returning id`;
      if (!row) throw new Error("API key insert returned no row");
      // A lookup just before may have cached this key as unknown.
      cache.delete(hashApiKey(key).toString("base64"));
      return { key, record: { keyId: row.id, tenantId, prefix: keyPrefix(key) } };
    },
  };
}
