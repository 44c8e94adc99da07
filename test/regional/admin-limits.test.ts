import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { hashApiKey } from "../../regional/auth/api-key.ts";
import { edgeKeyInvalidator } from "../../regional/auth/edge-key-cache.ts";
import { createLogger } from "../../regional/logger.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";
import { adminCalls } from "../support/admin-calls.ts";
import { edgeSignedGet, keyRecordPath } from "../support/edge-signed.ts";

/** PATCH /admin/keys/:id and /admin/tenants/:id: rate limits set, shown, audited and handed to the edge. */

const adminKey = "admin-key-for-tests-0123456789abcdef";
const signingSecret = "edge-signing-secret-for-the-limits-tests";
const upstash = { url: inject("upstashUrl"), token: inject("upstashToken") };
const redis = new Redis({ ...upstash, enableTelemetry: false });
const keyDefaults = { rpm_limit: 600, tpm_limit: 400_000 };
const tenantDefaults = { rpm_limit: 3_000, tpm_limit: 2_000_000 };

let t: TestApp;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey, keyCacheTtlMs: 60_000 });
  // As main.ts wires it: /internal answers the edge, and changes drop the edge's Upstash copies.
  app = createApp({ ...t.deps, edgeSigningSecret: signingSecret, invalidateEdgeKey: edgeKeyInvalidator(upstash, createLogger("silent")) });
});
afterAll(async () => t?.close());

interface ErrorBody {
  error: { message: string; code: string; param: string | null };
}
interface Limits {
  rpm_limit: number;
  tpm_limit: number;
}
interface TenantView extends Limits {
  id: string;
  status: string;
}
interface KeyView extends Limits {
  id: string;
  tenant_id: string;
  prefix: string;
  key?: string;
}
const { admin, json, eventOf } = adminCalls(() => app, adminKey);

async function newTenant(): Promise<TenantView> {
  return await json<TenantView>(await admin("POST", "/tenants", { name: "limits" }), 201);
}

/** A new key of the tenant, with the key itself (shown once at creation). */
async function newKey(tenantId: string): Promise<KeyView & { key: string }> {
  const created = await json<KeyView>(await admin("POST", `/tenants/${tenantId}/keys`, { name: "limited" }), 201);
  if (!created.key) throw new Error("no key in the creation answer");
  return { ...created, key: created.key };
}

async function listedKey(tenantId: string, keyId: string): Promise<KeyView | undefined> {
  const page = await json<{ data: KeyView[] }>(await admin("GET", `/tenants/${tenantId}/keys`), 200);
  return page.data.find((key) => key.id === keyId);
}

/** What the edge reads on a cache miss: the signed `GET /internal/keys/:sha256`. */
async function edgeRecord(key: string): Promise<KeyRecord> {
  const path = keyRecordPath(key);
  const response = await app.request(path, { headers: await edgeSignedGet(signingSecret, path) });
  return await json<KeyRecord>(response, 200);
}

/** Puts a key's record into Upstash the way the edge caches it; returns its Upstash key. */
async function cachedAtEdge(key: string): Promise<string> {
  const cacheKey = keyRecordCacheKey(hashApiKey(key).toString("hex"));
  await redis.set(cacheKey, { v: 1, record: await edgeRecord(key), until: Date.now() + 60_000 }, { ex: 60 });
  return cacheKey;
}

/** Bodies PATCH refuses, and the field its 400 names (null: the body as a whole). */
const invalidBodies: [string, unknown, string | null][] = [
  ["a zero limit", { rpm_limit: 0 }, "rpm_limit"],
  ["a negative limit", { tpm_limit: -5 }, "tpm_limit"],
  ["a limit given as a string", { rpm_limit: "100" }, "rpm_limit"],
  ["a fractional limit", { rpm_limit: 1.5 }, "rpm_limit"],
  ["requests per minute above a million", { rpm_limit: 1_000_001 }, "rpm_limit"],
  ["tokens per minute above a billion", { tpm_limit: 1_000_000_001 }, "tpm_limit"],
  ["an unknown field beside a valid one", { rpm_limit: 100, burst: 10 }, "burst"],
  ["an empty object", {}, null],
];

describe("PATCH /admin/keys/:id", () => {
  it("sets the key's limits, shows them in the key list, and hands them to the edge", async () => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);
    expect(await listedKey(tenant.id, key.id)).toMatchObject(keyDefaults);

    const updated = await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { rpm_limit: 120, tpm_limit: 50_000 }), 200);

    expect(updated).toMatchObject({
      object: "api_key",
      id: key.id,
      tenant_id: tenant.id,
      status: "active",
      rpm_limit: 120,
      tpm_limit: 50_000,
    });
    expect(await listedKey(tenant.id, key.id)).toMatchObject({ rpm_limit: 120, tpm_limit: 50_000 });
    const record = await edgeRecord(key.key);
    expect(record.limits).toEqual({ rpm: 120, tpm: 50_000 });
    expect(record.tenant_limits).toEqual({ rpm: tenantDefaults.rpm_limit, tpm: tenantDefaults.tpm_limit });
  });

  it("changes only the field sent", async () => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);
    await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { rpm_limit: 120 }), 200);

    const updated = await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { tpm_limit: 9_000 }), 200);

    expect(updated).toMatchObject({ rpm_limit: 120, tpm_limit: 9_000 });
    expect((await edgeRecord(key.key)).limits).toEqual({ rpm: 120, tpm: 9_000 });
  });

  it("puts the default back for null", async () => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);
    await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { rpm_limit: 5, tpm_limit: 500 }), 200);

    const cleared = await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { rpm_limit: null, tpm_limit: null }), 200);

    expect(cleared).toMatchObject(keyDefaults);
    expect(await listedKey(tenant.id, key.id)).toMatchObject(keyDefaults);
    expect((await edgeRecord(key.key)).limits).toEqual({ rpm: keyDefaults.rpm_limit, tpm: keyDefaults.tpm_limit });
  });

  it("drops the edge's Upstash copy of that key's record and of no other key", async () => {
    const tenant = await newTenant();
    const [changed, untouched] = [await newKey(tenant.id), await newKey(tenant.id)];
    const [changedEntry, untouchedEntry] = [await cachedAtEdge(changed.key), await cachedAtEdge(untouched.key)];

    await json<KeyView>(await admin("PATCH", `/keys/${changed.id}`, { rpm_limit: 30 }), 200);

    expect(await redis.get(changedEntry)).toBeNull();
    expect(await redis.get(untouchedEntry)).not.toBeNull();
  });

  it("is audited as key.limits with the limits before and after", async () => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);

    const response = await admin("PATCH", `/keys/${key.id}`, { rpm_limit: 60, tpm_limit: null });

    expect(response.status).toBe(200);
    expect(await eventOf(response)).toMatchObject({
      action: "key.limits",
      resource: `api_key:${key.id}`,
      result: "success",
      tenant_id: tenant.id,
      metadata: {
        prefix: key.prefix,
        before: keyDefaults,
        after: { rpm_limit: 60, tpm_limit: keyDefaults.tpm_limit },
        method: "PATCH",
        status: 200,
      },
    });
  });

  it("keeps the limits through a rotation", async () => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);
    await json<KeyView>(await admin("PATCH", `/keys/${key.id}`, { rpm_limit: 42, tpm_limit: 4_200 }), 200);

    const rotated = await json<KeyView & { key: string }>(await admin("POST", `/keys/${key.id}/rotate`), 201);

    expect(await listedKey(tenant.id, rotated.id)).toMatchObject({ rpm_limit: 42, tpm_limit: 4_200 });
    expect((await edgeRecord(rotated.key)).limits).toEqual({ rpm: 42, tpm: 4_200 });
  });

  it.each(invalidBodies)("refuses %s with a 400 naming the field, audited, and changes nothing", async (_, body, param) => {
    const tenant = await newTenant();
    const key = await newKey(tenant.id);

    const response = await admin("PATCH", `/keys/${key.id}`, body);

    const { error } = await json<ErrorBody>(response, 400);
    expect(error.code).toBe("invalid_request");
    expect(error.param).toBe(param);
    expect(error.message).toContain(param ?? "rpm_limit, tpm_limit");
    expect(await eventOf(response)).toMatchObject({
      action: "key.limits",
      resource: `api_key:${key.id}`,
      result: "failure",
      metadata: { status: 400 },
    });
    expect(await listedKey(tenant.id, key.id)).toMatchObject(keyDefaults);
  });

  it("refuses a missing or malformed body as invalid_json", async () => {
    const key = await newKey((await newTenant()).id);
    expect((await json<ErrorBody>(await admin("PATCH", `/keys/${key.id}`), 400)).error.code).toBe("invalid_json");
    expect((await json<ErrorBody>(await admin("PATCH", `/keys/${key.id}`, "{rpm_limit: 5"), 400)).error.code).toBe("invalid_json");
  });

  it("answers 404 for an unknown or malformed key id, audited as a failure", async () => {
    const unknown = await admin("PATCH", "/keys/00000000-0000-4000-8000-000000000000", { rpm_limit: 10 });
    const { error } = await json<ErrorBody>(unknown, 404);
    expect(error).toMatchObject({ code: "not_found", param: "id" });
    expect(await eventOf(unknown)).toMatchObject({
      action: "key.limits",
      resource: "api_key:00000000-0000-4000-8000-000000000000",
      result: "failure",
      metadata: { status: 404 },
    });
    expect((await json<ErrorBody>(await admin("PATCH", "/keys/not-a-uuid", { rpm_limit: 10 }), 404)).error.code).toBe("not_found");
  });
});

describe("PATCH /admin/tenants/:id", () => {
  it("sets the tenant's limits, shows them in its view, and hands them to the edge with every key", async () => {
    const tenant = await newTenant();
    expect(tenant).toMatchObject(tenantDefaults);
    const keys = [await newKey(tenant.id), await newKey(tenant.id)];

    const updated = await json<TenantView>(await admin("PATCH", `/tenants/${tenant.id}`, { rpm_limit: 5_000, tpm_limit: 3_000_000 }), 200);

    expect(updated).toMatchObject({ object: "tenant", id: tenant.id, status: "active", rpm_limit: 5_000, tpm_limit: 3_000_000 });
    expect(await json<TenantView>(await admin("GET", `/tenants/${tenant.id}`), 200)).toMatchObject({
      rpm_limit: 5_000,
      tpm_limit: 3_000_000,
    });
    const listed = await json<{ data: TenantView[] }>(await admin("GET", "/tenants?limit=200"), 200);
    expect(listed.data.find((item) => item.id === tenant.id)).toMatchObject({ rpm_limit: 5_000, tpm_limit: 3_000_000 });
    for (const key of keys) {
      const record = await edgeRecord(key.key);
      expect(record.tenant_limits).toEqual({ rpm: 5_000, tpm: 3_000_000 });
      expect(record.limits).toEqual({ rpm: keyDefaults.rpm_limit, tpm: keyDefaults.tpm_limit });
    }
  });

  it("puts the default back for null, one field at a time", async () => {
    const tenant = await newTenant();
    await json<TenantView>(await admin("PATCH", `/tenants/${tenant.id}`, { rpm_limit: 10, tpm_limit: 1_000 }), 200);

    expect(await json<TenantView>(await admin("PATCH", `/tenants/${tenant.id}`, { rpm_limit: null }), 200)).toMatchObject({
      rpm_limit: tenantDefaults.rpm_limit,
      tpm_limit: 1_000,
    });
    expect(await json<TenantView>(await admin("PATCH", `/tenants/${tenant.id}`, { tpm_limit: null }), 200)).toMatchObject(tenantDefaults);
  });

  it("drops the edge's Upstash copy of every key of the tenant, revoked ones included, and of no other tenant's", async () => {
    const [tenant, other] = [await newTenant(), await newTenant()];
    const [first, second] = [await newKey(tenant.id), await newKey(tenant.id)];
    const revoked = await newKey(tenant.id);
    await json<KeyView>(await admin("POST", `/keys/${revoked.id}/revoke`), 200);
    const entries = [await cachedAtEdge(first.key), await cachedAtEdge(second.key), await cachedAtEdge(revoked.key)];
    const otherEntry = await cachedAtEdge((await newKey(other.id)).key);

    await json<TenantView>(await admin("PATCH", `/tenants/${tenant.id}`, { tpm_limit: 100_000 }), 200);

    for (const entry of entries) expect(await redis.get(entry)).toBeNull();
    expect(await redis.get(otherEntry)).not.toBeNull();
  });

  it("is audited as tenant.limits with the limits before and after", async () => {
    const tenant = await newTenant();

    const response = await admin("PATCH", `/tenants/${tenant.id}`, { rpm_limit: 9_000 });

    expect(response.status).toBe(200);
    expect(await eventOf(response)).toMatchObject({
      action: "tenant.limits",
      resource: `tenant:${tenant.id}`,
      result: "success",
      tenant_id: tenant.id,
      metadata: { before: tenantDefaults, after: { rpm_limit: 9_000, tpm_limit: tenantDefaults.tpm_limit }, method: "PATCH", status: 200 },
    });
  });

  it.each(invalidBodies)("refuses %s with a 400 naming the field, audited, and changes nothing", async (_, body, param) => {
    const tenant = await newTenant();

    const response = await admin("PATCH", `/tenants/${tenant.id}`, body);

    const { error } = await json<ErrorBody>(response, 400);
    expect(error.code).toBe("invalid_request");
    expect(error.param).toBe(param);
    expect(error.message).toContain(param ?? "rpm_limit, tpm_limit");
    expect(await eventOf(response)).toMatchObject({
      action: "tenant.limits",
      resource: `tenant:${tenant.id}`,
      result: "failure",
      metadata: { status: 400 },
    });
    expect(await json<TenantView>(await admin("GET", `/tenants/${tenant.id}`), 200)).toMatchObject(tenantDefaults);
  });

  it("refuses to rename a tenant: name is an unknown field here", async () => {
    const tenant = await newTenant();
    const { error } = await json<ErrorBody>(await admin("PATCH", `/tenants/${tenant.id}`, { name: "renamed" }), 400);
    expect(error).toMatchObject({ code: "invalid_request", param: "name" });
  });

  it("answers 404 for an unknown or malformed tenant id, audited as a failure", async () => {
    const unknown = await admin("PATCH", "/tenants/00000000-0000-4000-8000-000000000000", { rpm_limit: 10 });
    const { error } = await json<ErrorBody>(unknown, 404);
    expect(error).toMatchObject({ code: "not_found", param: "id" });
    expect(await eventOf(unknown)).toMatchObject({
      action: "tenant.limits",
      resource: "tenant:00000000-0000-4000-8000-000000000000",
      result: "failure",
      metadata: { status: 404 },
    });
    expect((await json<ErrorBody>(await admin("PATCH", "/tenants/not-a-uuid", { rpm_limit: 10 }), 404)).error.code).toBe("not_found");
  });
});
