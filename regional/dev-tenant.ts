import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashApiKey } from "./auth/api-key.ts";
import type { KeyStore } from "./auth/key-store.ts";
import type { Db } from "./db/index.ts";

const devTenantName = "dev";
const devKeyFile = "dev-api-key";

/**
 * Makes sure a local developer has a tenant and a key to call the API with. A fixed key
 * comes from BREAKWATER_DEV_KEY; otherwise, with embedded storage, one is generated on
 * first start and kept beside the data so every start can print it again.
 */
export async function ensureDevKey(
  db: Db,
  keys: KeyStore,
  options: { devKey?: string; dataDir: string; limits?: DevLimits },
): Promise<string | null> {
  const keyFile = join(options.dataDir, devKeyFile);
  const wanted =
    options.devKey ??
    (db.embedded
      ? await readFile(keyFile, "utf8").then(
          (text) => text.trim(),
          () => undefined,
        )
      : undefined);
  if (!wanted && !db.embedded) return null;
  if (wanted && (await keys.verify(wanted))) return await withLimits(db, wanted, options.limits);

  const tenantId = await devTenantId(db);
  const { key } = await keys.create(tenantId, "dev", wanted);
  if (!options.devKey) await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  return await withLimits(db, key, options.limits);
}

/** Requests and tokens per minute for the dev key and its tenant (BREAKWATER_DEV_RPM/TPM), e.g. for a benchmark. */
export interface DevLimits {
  rpm?: number;
  tpm?: number;
}

async function withLimits(db: Db, key: string, limits: DevLimits = {}): Promise<string> {
  if (limits.rpm === undefined && limits.tpm === undefined) return key;
  const [row] = await db.write<{ tenant_id: string }[]>`
    update api_keys set rpm_limit = coalesce(${limits.rpm ?? null}, rpm_limit), tpm_limit = coalesce(${limits.tpm ?? null}, tpm_limit)
    where key_hash = ${hashApiKey(key)} returning tenant_id`;
  if (row) {
    await db.write`
      update tenants set rpm_limit = coalesce(${limits.rpm ?? null}, rpm_limit), tpm_limit = coalesce(${limits.tpm ?? null}, tpm_limit)
      where id = ${row.tenant_id}`;
  }
  return key;
}

async function devTenantId(db: Db): Promise<string> {
  const [existing] = await db.write<{ id: string }[]>`select id from tenants where name = ${devTenantName} order by created_at limit 1`;
  if (existing) return existing.id;
  const [created] = await db.write<{ id: string }[]>`insert into tenants (name) values (${devTenantName}) returning id`;
  if (!created) throw new Error("tenant insert returned no row");
  return created.id;
}
