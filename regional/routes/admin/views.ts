import type { KeyInfo } from "../../auth/key-store.ts";
import type { Tenant } from "../../tenants/tenant-store.ts";

/** How the admin API shows a tenant. */
export function tenantView(tenant: Tenant) {
  return { object: "tenant", id: tenant.id, name: tenant.name, status: tenant.status, created_at: tenant.createdAt.toISOString() };
}

/** How the admin API shows a key: its prefix, never the key. */
export function keyView(key: KeyInfo) {
  return {
    object: "api_key",
    id: key.id,
    tenant_id: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    status: key.status,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}
