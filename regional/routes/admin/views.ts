import type { RateLimits } from "../../../shared/contract/keys.ts";
import type { KeyInfo } from "../../auth/key-store.ts";
import type { Tenant } from "../../tenants/tenant-store.ts";

/** Rate limits under the names PATCH takes them by. */
export function limitsView(limits: RateLimits) {
  return { rpm_limit: limits.rpm, tpm_limit: limits.tpm };
}

/** How the admin API shows a tenant. */
export function tenantView(tenant: Tenant) {
  return {
    object: "tenant",
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    ...limitsView(tenant.limits),
    created_at: tenant.createdAt.toISOString(),
  };
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
    ...limitsView(key.limits),
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}
