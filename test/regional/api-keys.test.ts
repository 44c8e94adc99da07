import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { generateApiKey, hashApiKey } from "../../regional/auth/api-key.ts";
import { createKeyStore } from "../../regional/auth/key-store.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"));
});
afterAll(async () => t?.close());

describe("API keys", () => {
  it("look like bw_ and 32 random characters", () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));
    expect(keys.size).toBe(200);
    for (const key of keys) expect(key).toMatch(/^bw_[A-Za-z0-9]{32}$/);
  });

  it("are stored as a SHA-256 hash and a short prefix, never in clear", async () => {
    const { key } = await t.keys.create(t.tenantId, "stored");
    const rows = await t.db.write<Array<Record<string, unknown>>>`select * from api_keys where prefix = ${key.slice(0, 11)}`;
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? {};
    expect(row.key_hash).toEqual(hashApiKey(key));
    expect(JSON.stringify(row)).not.toContain(key.slice(11));
  });

  it("verify to their tenant, and a key differing in one character does not", async () => {
    const { key } = await t.keys.create(t.tenantId, "verify");
    expect(await t.keys.verify(key)).toMatchObject({ tenantId: t.tenantId, prefix: key.slice(0, 11) });
    const last = key.at(-1) === "a" ? "b" : "a";
    expect(await t.keys.verify(key.slice(0, -1) + last)).toBeNull();
  });

  it("stop working when their tenant is disabled", async () => {
    const [tenant] = await t.db.write<{ id: string }[]>`insert into tenants (name) values ('soon disabled') returning id`;
    const { key } = await t.keys.create(tenant?.id ?? "", "x");
    expect(await t.keys.verify(key)).not.toBeNull();
    await t.db.write`update tenants set status = 'disabled' where id = ${tenant?.id ?? ""}`;
    expect(await t.keys.verify(key)).toBeNull();
  });

  it("work at once when created after the same key was looked up and found unknown", async () => {
    const cached = createKeyStore(t.db, { cacheTtlMs: 60_000 });
    const key = generateApiKey();
    expect(await cached.verify(key)).toBeNull();
    await cached.create(t.tenantId, "late", key);
    expect(await cached.verify(key)).not.toBeNull();
  });

  it("are cached for the configured time, then read again", async () => {
    let now = 1_000_000;
    const cached = createKeyStore(t.db, { cacheTtlMs: 5_000, now: () => now });
    const { key } = await cached.create(t.tenantId, "cached");
    expect(await cached.verify(key)).not.toBeNull();
    await t.db.write`update api_keys set status = 'revoked' where prefix = ${key.slice(0, 11)}`;
    expect(await cached.verify(key)).not.toBeNull();
    now += 5_001;
    expect(await cached.verify(key)).toBeNull();
  });
});
