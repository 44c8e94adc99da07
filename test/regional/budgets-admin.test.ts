import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { hashApiKey } from "../../regional/auth/api-key.ts";
import { edgeKeyInvalidator } from "../../regional/auth/edge-key-cache.ts";
import { createLogger } from "../../regional/logger.ts";
import { keyRecord, type KeyRecord } from "../../shared/contract/keys.ts";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";
import { adminCalls } from "../support/admin-calls.ts";
import { edgeSignedGet, keyRecordPath } from "../support/edge-signed.ts";

/** Budgets set through the admin API: validated, audited, and handed to the edge in key records. */

const adminKey = "admin-key-for-tests-0123456789abcdef";
const signingSecret = "edge-signing-secret-for-the-budget-tests";
const upstash = { url: inject("upstashUrl"), token: inject("upstashToken") };
const redis = new Redis({ ...upstash, enableTelemetry: false });

let t: TestApp;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey, keyCacheTtlMs: 60_000 });
  // As main.ts wires it: /internal answers the edge, and changes drop the edge's Upstash copies.
  app = createApp({ ...t.deps, edgeSigningSecret: signingSecret, invalidateEdgeKey: edgeKeyInvalidator(upstash, createLogger("silent")) });
});
afterAll(async () => t?.close());

interface BudgetView {
  object: string;
  id: string;
  scope: string;
  tenant_id: string;
  key_id: string | null;
  period: string;
  unit: string;
  limit: number;
  softThreshold: number | null;
  timeZone: string;
}
interface ErrorBody {
  error: { message: string; code: string; param: string | null };
}
const { admin, json, eventOf } = adminCalls(() => app, adminKey);

async function newTenant(): Promise<string> {
  return (await json<{ id: string }>(await admin("POST", "/tenants", { name: "budgets" }), 201)).id;
}

async function newKey(tenantId: string): Promise<{ id: string; key: string }> {
  const created = await json<{ id: string; key: string }>(await admin("POST", `/tenants/${tenantId}/keys`, { name: "budgeted" }), 201);
  return { id: created.id, key: created.key };
}

/** What the edge reads on a cache miss: the signed `GET /internal/keys/:sha256`, checked against the shared schema. */
async function edgeRecord(key: string): Promise<KeyRecord> {
  const path = keyRecordPath(key);
  const response = await app.request(path, { headers: await edgeSignedGet(signingSecret, path) });
  return keyRecord.parse(await json<unknown>(response, 200));
}

describe("PUT /admin/{tenants,keys}/:id/budgets/:period", () => {
  it("sets a key's and its tenant's budgets, and the key's record carries both", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    expect((await edgeRecord(key.key)).budgets).toEqual([]);

    const tenantBudget = await json<BudgetView>(
      await admin("PUT", `/tenants/${tenantId}/budgets/month`, {
        unit: "usd",
        limit: 250.5,
        softThreshold: 0.8,
        timeZone: "Europe/Berlin",
      }),
      200,
    );
    const keyBudget = await json<BudgetView>(await admin("PUT", `/keys/${key.id}/budgets/day`, { unit: "tokens", limit: 100_000 }), 200);

    expect(tenantBudget).toMatchObject({
      object: "budget",
      scope: "tenant",
      tenant_id: tenantId,
      key_id: null,
      period: "month",
      unit: "usd",
      limit: 250.5,
      softThreshold: 0.8,
      timeZone: "Europe/Berlin",
    });
    expect(keyBudget).toMatchObject({
      scope: "key",
      tenant_id: tenantId,
      key_id: key.id,
      unit: "tokens",
      softThreshold: null,
      timeZone: "UTC",
    });
    expect((await edgeRecord(key.key)).budgets).toEqual([
      { id: keyBudget.id, scope: "key", period: "day", unit: "tokens", limit: 100_000, softThreshold: null, timeZone: "UTC" },
      { id: tenantBudget.id, scope: "tenant", period: "month", unit: "usd", limit: 250.5, softThreshold: 0.8, timeZone: "Europe/Berlin" },
    ]);
  });

  it("gives another key of the tenant the tenant's budget but not the first key's own", async () => {
    const tenantId = await newTenant();
    const [first, second] = [await newKey(tenantId), await newKey(tenantId)];
    await json(await admin("PUT", `/keys/${first.id}/budgets/day`, { unit: "usd", limit: 5 }), 200);
    await json(await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "usd", limit: 50 }), 200);

    expect((await edgeRecord(second.key)).budgets.map((budget) => [budget.scope, budget.limit])).toEqual([["tenant", 50]]);
  });

  it("replaces the budget of the period, keeping its id while the unit stays", async () => {
    const tenantId = await newTenant();
    const first = await json<BudgetView>(await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "usd", limit: 10 }), 200);

    const raised = await json<BudgetView>(await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "usd", limit: 20 }), 200);
    const inTokens = await json<BudgetView>(await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "tokens", limit: 20 }), 200);

    expect(raised).toMatchObject({ id: first.id, limit: 20 });
    expect(inTokens.id).not.toBe(first.id);
    const listed = await json<{ data: BudgetView[] }>(await admin("GET", `/tenants/${tenantId}/budgets`), 200);
    expect(listed.data.map((budget) => [budget.period, budget.unit, budget.limit])).toEqual([["day", "tokens", 20]]);
  });

  it("stores the time zone as the runtime spells it", async () => {
    const tenantId = await newTenant();
    const set = await json<BudgetView>(
      await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "usd", limit: 1, timeZone: "america/new_york" }),
      200,
    );
    expect(set.timeZone).toBe("America/New_York");
  });

  it("drops the edge's Upstash copy of the key's record; a tenant's budget drops every key's", async () => {
    const tenantId = await newTenant();
    const [first, second] = [await newKey(tenantId), await newKey(tenantId)];
    const cached = async (key: string) => {
      const cacheKey = keyRecordCacheKey(hashApiKey(key).toString("hex"));
      await redis.set(cacheKey, { v: 1, record: await edgeRecord(key), until: Date.now() + 60_000 }, { ex: 60 });
      return cacheKey;
    };
    const [firstEntry, secondEntry] = [await cached(first.key), await cached(second.key)];

    await json(await admin("PUT", `/keys/${first.id}/budgets/day`, { unit: "usd", limit: 1 }), 200);
    expect(await redis.get(firstEntry)).toBeNull();
    expect(await redis.get(secondEntry)).not.toBeNull();

    const again = await cached(first.key);
    await json(await admin("PUT", `/tenants/${tenantId}/budgets/month`, { unit: "usd", limit: 100 }), 200);
    expect(await redis.get(again)).toBeNull();
    expect(await redis.get(secondEntry)).toBeNull();
  });

  it("is audited as budget.set with the budget before and after", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    await json(await admin("PUT", `/keys/${key.id}/budgets/month`, { unit: "usd", limit: 30 }), 200);

    const response = await admin("PUT", `/keys/${key.id}/budgets/month`, { unit: "usd", limit: 45, softThreshold: 0.9 });

    expect(response.status).toBe(200);
    expect(await eventOf(response)).toMatchObject({
      action: "budget.set",
      resource: `api_key:${key.id}`,
      result: "success",
      tenant_id: tenantId,
      metadata: { scope: "key", period: "month", before: { limit: 30, softThreshold: null }, after: { limit: 45, softThreshold: 0.9 } },
    });
  });

  const invalid: [string, unknown, string][] = [
    ["no unit", { limit: 5 }, "unit"],
    ["an unknown unit", { unit: "eur", limit: 5 }, "unit"],
    ["a zero limit", { unit: "usd", limit: 0 }, "limit"],
    ["a negative limit", { unit: "usd", limit: -1 }, "limit"],
    ["a limit given as a string", { unit: "usd", limit: "5" }, "limit"],
    ["a fractional token limit", { unit: "tokens", limit: 10.5 }, "limit"],
    ["a soft threshold of 1", { unit: "usd", limit: 5, softThreshold: 1 }, "softThreshold"],
    ["a soft threshold of 0", { unit: "usd", limit: 5, softThreshold: 0 }, "softThreshold"],
    ["a soft threshold given as a percentage", { unit: "usd", limit: 5, softThreshold: 80 }, "softThreshold"],
    ["a time zone that does not exist", { unit: "usd", limit: 5, timeZone: "Mars/Olympus_Mons" }, "timeZone"],
    ["an offset instead of a zone name", { unit: "usd", limit: 5, timeZone: "+01:00" }, "timeZone"],
    ["an unknown field", { unit: "usd", limit: 5, hard: true }, "hard"],
  ];
  it.each(invalid)("refuses %s with a 400 naming the field, and stores nothing", async (_, body, param) => {
    const tenantId = await newTenant();
    const error = await json<ErrorBody>(await admin("PUT", `/tenants/${tenantId}/budgets/day`, body), 400);
    expect(error.error).toMatchObject({ code: "invalid_request", param });
    expect((await json<{ data: unknown[] }>(await admin("GET", `/tenants/${tenantId}/budgets`), 200)).data).toEqual([]);
  });

  it("refuses a period other than day or month, and answers 404 for a tenant or key that does not exist", async () => {
    const tenantId = await newTenant();
    const week = await json<ErrorBody>(await admin("PUT", `/tenants/${tenantId}/budgets/week`, { unit: "usd", limit: 1 }), 400);
    expect(week.error.message).toContain("day or month");
    const missing = "00000000-0000-4000-8000-000000000000";
    expect((await json<ErrorBody>(await admin("PUT", `/tenants/${missing}/budgets/day`, { unit: "usd", limit: 1 }), 404)).error.code).toBe(
      "not_found",
    );
    expect((await json<ErrorBody>(await admin("PUT", `/keys/not-a-uuid/budgets/day`, { unit: "usd", limit: 1 }), 404)).error.code).toBe(
      "not_found",
    );
  });
});

describe("DELETE /admin/{tenants,keys}/:id/budgets/:period", () => {
  it("removes the budget from the key's record, audited as budget.deleted", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    const set = await json<BudgetView>(await admin("PUT", `/keys/${key.id}/budgets/day`, { unit: "usd", limit: 3 }), 200);
    expect((await edgeRecord(key.key)).budgets).toHaveLength(1);

    const response = await admin("DELETE", `/keys/${key.id}/budgets/day`);

    expect(await json<BudgetView & { deleted: boolean }>(response, 200)).toMatchObject({ id: set.id, deleted: true });
    expect(await eventOf(response)).toMatchObject({
      action: "budget.deleted",
      resource: `api_key:${key.id}`,
      tenant_id: tenantId,
      metadata: { scope: "key", period: "day", before: { id: set.id, limit: 3 } },
    });
    expect((await edgeRecord(key.key)).budgets).toEqual([]);
    expect((await json<{ data: unknown[] }>(await admin("GET", `/keys/${key.id}/budgets`), 200)).data).toEqual([]);
  });

  it("answers 404 when there is no budget for the period", async () => {
    const tenantId = await newTenant();
    const error = await json<ErrorBody>(await admin("DELETE", `/tenants/${tenantId}/budgets/month`), 404);
    expect(error.error.message).toContain("no month budget");
  });
});

describe("GET /admin/{tenants,keys}/:id/budgets", () => {
  it("lists the owner's own budgets, audited as budget.list", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    await json(await admin("PUT", `/tenants/${tenantId}/budgets/day`, { unit: "usd", limit: 7 }), 200);
    await json(await admin("PUT", `/keys/${key.id}/budgets/month`, { unit: "tokens", limit: 9 }), 200);

    const response = await admin("GET", `/keys/${key.id}/budgets`);

    const listed = await json<{ object: string; data: BudgetView[] }>(response, 200);
    expect(listed.data.map((budget) => [budget.scope, budget.period, budget.limit])).toEqual([["key", "month", 9]]);
    expect(await eventOf(response)).toMatchObject({ action: "budget.list", resource: `api_key:${key.id}`, tenant_id: tenantId });
  });
});
