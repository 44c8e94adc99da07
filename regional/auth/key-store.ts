import type { Context } from "@opentelemetry/api";
import { timingSafeEqual } from "node:crypto";
import { withinTrace } from "../observability/scoped-context.ts";
import { GatewayError } from "../../shared/error.ts";
import type { RateLimits } from "../../shared/contract/keys.ts";
import type { CommitHook } from "../audit/commit-hook.ts";
import type { Db, Sql } from "../db/index.ts";
import { limitAssignments, type RateLimitChange } from "../tenants/rate-limits.ts";
import { looksLikeApiKey } from "../../shared/api-key.ts";
import { generateApiKey, hashApiKey, keyPrefix } from "./api-key.ts";
import { authoritativeRead } from "./authoritative-read.ts";

export interface KeyRecord {
  keyId: string;
  tenantId: string;
  prefix: string;
}

export interface KeyStore {
  /**
   * The active key's record, or null for an unknown, revoked or disabled key. `trace`: the
   * request's trace context, which a lookup in the database is traced under.
   */
  verify(key: string, trace?: Context): Promise<KeyRecord | null>;
  /** Creates a tenant-owned key and returns it; only its hash is kept. */
  create(tenantId: string, name?: string, key?: string, onCommit?: CommitHook<KeyRecord>): Promise<{ key: string; record: KeyRecord }>;
  /** A tenant's keys, newest first; the prefix is all that is left to show of each. */
  list(tenantId: string): Promise<KeyInfo[]>;
  /**
   * Revokes a key: this process stops accepting it at once, other instances when their
   * cache entry expires (KEY_CACHE_TTL_MS). Revoking twice is harmless. Null for no such key.
   */
  revoke(keyId: string, onCommit?: CommitHook<KeyInfo>): Promise<KeyInfo | null>;
  /** A new key of the same tenant and name in one transaction with revoking the old one. Null for no such key. */
  rotate(
    keyId: string,
    onCommit?: CommitHook<{ record: KeyRecord; replaced: KeyInfo }>,
  ): Promise<{ key: string; record: KeyRecord; replaced: KeyInfo } | null>;
  /** Changes a key's rate limits; the key before and after, or null for no such key. */
  setLimits(
    keyId: string,
    change: RateLimitChange,
    onCommit?: CommitHook<{ before: KeyInfo; after: KeyInfo }>,
  ): Promise<{ before: KeyInfo; after: KeyInfo } | null>;
  /** Forgets cached answers for a tenant's keys, e.g. once the tenant is disabled. */
  forgetTenant(tenantId: string): void;
}

/** A key as people see it: never the key itself. */
export interface KeyInfo {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  /** What the edge allows this key alone; its tenant's limits apply on top. */
  limits: RateLimits;
  createdAt: Date;
  revokedAt: Date | null;
  /** SHA-256 of the key: what caches (here and at the edge) know it by. Not for display. */
  keyHash: Buffer;
}

interface KeyInfoRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  status: "active" | "revoked";
  rpm_limit: number;
  tpm_limit: number;
  created_at: Date;
  revoked_at: Date | null;
  key_hash: Buffer;
}

const keyInfo = (row: KeyInfoRow): KeyInfo => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  prefix: row.prefix,
  status: row.status,
  limits: { rpm: row.rpm_limit, tpm: row.tpm_limit },
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  keyHash: row.key_hash,
});

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

  /** Where no revocation can be missed (see `authoritativeRead`): a key revoked a moment ago must not pass. */
  async function lookup(key: string, hash: Buffer): Promise<KeyRecord | null> {
    const find = async (sql: Sql) => {
      const rows = await sql<KeyRow[]>`
        select k.id, k.tenant_id, k.prefix, k.key_hash
        from api_keys k join tenants t on t.id = k.tenant_id
        where k.prefix = ${keyPrefix(key)} and k.status = 'active' and t.status = 'active'`;
      return rows.find((row) => row.key_hash.length === hash.length && timingSafeEqual(row.key_hash, hash)) ?? null;
    };
    const match = await authoritativeRead(db, find, (found) => found?.tenant_id ?? null);
    return match ? { keyId: match.id, tenantId: match.tenant_id, prefix: match.prefix } : null;
  }

  /** The tenant a key belongs to, from the primary: a key created a moment ago may not have replayed yet. */
  async function ownerOf(keyId: string): Promise<string | null> {
    if (!uuid.test(keyId)) return null;
    const [row] = await db.write<{ tenant_id: string }[]>`select tenant_id from api_keys where id = ${keyId}`;
    return row?.tenant_id ?? null;
  }

  return {
    async verify(key, trace) {
      if (!looksLikeApiKey(key)) return null;
      const hash = hashApiKey(key);
      const cacheKey = hash.toString("base64");
      const cached = cache.get(cacheKey);
      if (cached && cached.expiresAt > now()) return cached.record;
      const record = await withinTrace(trace, () => lookup(key, hash));
      if (cache.size > 10_000) cache.clear();
      cache.set(cacheKey, { record, expiresAt: now() + (record ? options.cacheTtlMs : negativeTtlMs) });
      return record;
    },

    async create(tenantId, name = "", key = generateApiKey(), onCommit) {
      const record = await db.transaction(tenantId, async (tx) => {
        const [row] = await tx<{ id: string }[]>`
          insert into api_keys (tenant_id, name, prefix, key_hash)
          values (${tenantId}, ${name}, ${keyPrefix(key)}, ${hashApiKey(key)})
          returning id`;
        if (!row) throw new Error("API key insert returned no row");
        const created: KeyRecord = { keyId: row.id, tenantId, prefix: keyPrefix(key) };
        await onCommit?.(tx, created);
        return created;
      });
      // A lookup just before may have cached this key as unknown.
      cache.delete(hashApiKey(key).toString("base64"));
      return { key, record };
    },

    async list(tenantId) {
      if (!uuid.test(tenantId)) return [];
      const rows = await (await db.read(tenantId))<KeyInfoRow[]>`
        select id, tenant_id, name, prefix, status, rpm_limit, tpm_limit, created_at, revoked_at, key_hash
        from api_keys where tenant_id = ${tenantId} order by created_at desc, id`;
      return rows.map(keyInfo);
    },

    async revoke(keyId, onCommit) {
      const tenantId = await ownerOf(keyId);
      if (!tenantId) return null;
      const revoked = await db.transaction(tenantId, async (tx) => {
        const [row] = await tx<KeyInfoRow[]>`
          update api_keys set status = 'revoked', revoked_at = coalesce(revoked_at, now())
          where id = ${keyId}
          returning id, tenant_id, name, prefix, status, rpm_limit, tpm_limit, created_at, revoked_at, key_hash`;
        if (!row) return null;
        await onCommit?.(tx, keyInfo(row));
        return keyInfo(row);
      });
      if (!revoked) return null;
      cache.delete(revoked.keyHash.toString("base64"));
      return revoked;
    },

    async rotate(keyId, onCommit) {
      const tenantId = await ownerOf(keyId);
      if (!tenantId) return null;
      const key = generateApiKey();
      const done = await db.transaction(tenantId, async (tx) => {
        const [old] = await tx<KeyInfoRow[]>`
          update api_keys set status = 'revoked', revoked_at = now()
          where id = ${keyId} and status = 'active'
          returning id, tenant_id, name, prefix, status, rpm_limit, tpm_limit, created_at, revoked_at, key_hash`;
        if (!old) {
          const [exists] = await tx<{ id: string }[]>`select id from api_keys where id = ${keyId}`;
          if (exists) throw new GatewayError("conflict", { message: "The key is revoked already; create a new key instead." });
          return null;
        }
        // The new key keeps the old one's tenant, name and rate limits.
        const [created] = await tx<{ id: string }[]>`
          insert into api_keys (tenant_id, name, prefix, key_hash, rpm_limit, tpm_limit)
          select tenant_id, name, ${keyPrefix(key)}, ${hashApiKey(key)}, rpm_limit, tpm_limit from api_keys where id = ${old.id}
          returning id`;
        if (!created) throw new Error("API key insert returned no row");
        await onCommit?.(tx, { record: { keyId: created.id, tenantId: old.tenant_id, prefix: keyPrefix(key) }, replaced: keyInfo(old) });
        return { old, id: created.id };
      });
      if (!done) return null;
      cache.delete(done.old.key_hash.toString("base64"));
      cache.delete(hashApiKey(key).toString("base64"));
      return { key, record: { keyId: done.id, tenantId: done.old.tenant_id, prefix: keyPrefix(key) }, replaced: keyInfo(done.old) };
    },

    async setLimits(keyId, change, onCommit) {
      const tenantId = await ownerOf(keyId);
      if (!tenantId) return null;
      return await db.transaction(tenantId, async (tx) => {
        // Locked, so the old values in the audit event are the ones this update replaced.
        const [old] = await tx<KeyInfoRow[]>`
          select id, tenant_id, name, prefix, status, rpm_limit, tpm_limit, created_at, revoked_at, key_hash
          from api_keys where id = ${keyId} for update`;
        if (!old) return null;
        const [row] = await tx<KeyInfoRow[]>`
          update api_keys set ${limitAssignments(tx, change)} where id = ${keyId}
          returning id, tenant_id, name, prefix, status, rpm_limit, tpm_limit, created_at, revoked_at, key_hash`;
        if (!row) throw new Error("API key update returned no row");
        const changed = { before: keyInfo(old), after: keyInfo(row) };
        await onCommit?.(tx, changed);
        return changed;
      });
    },

    forgetTenant(tenantId) {
      for (const [cacheKey, entry] of cache) if (entry.record?.tenantId === tenantId) cache.delete(cacheKey);
    },
  };
}
