import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

/** `GET /admin/usage`: cost per tenant, key and model over a period, summed exactly. */

const adminKey = "admin-key-for-tests-0123456789abcdef";
const routes = { providers: { mock: { prices: { echo: { input: 1, output: 2 }, embed: { input: 0.02, output: 0 } } } } };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey, routes });
});
afterAll(async () => t?.close());

interface Totals {
  requests: number;
  errors: number;
  total_tokens: number;
  cost_usd: string;
  unpriced_requests: number;
}
interface TenantSummary extends Totals {
  tenant_id: string;
  by_model: (Totals & { provider: string | null; model: string | null })[];
  by_key: (Totals & { key_id: string | null })[];
}

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return await t.app.request(`/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function newTenant(): Promise<string> {
  return (await json<{ id: string }>(await admin("POST", "/tenants", { name: "spend" }), 201)).id;
}

async function newKey(tenantId: string): Promise<{ id: string; key: string }> {
  return await json<{ id: string; key: string }>(await admin("POST", `/tenants/${tenantId}/keys`, {}), 201);
}

/** A usage row as the recorder writes it, at a chosen time and cost. */
async function usageRow(row: { tenantId: string; keyId: string; model: string; cost: string | null; at: string; status?: number }) {
  await t.db.write`
    insert into usage (tenant_id, key_id, kind, provider, model, status, prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms, created_at)
    values (${row.tenantId}, ${row.keyId}, 'chat', 'mock', ${row.model}, ${row.status ?? 200}, 10, 5, 15,
            ${row.cost}::numeric, 100, ${row.at}::timestamptz)`;
}

async function summary(query: string): Promise<TenantSummary[]> {
  return (await json<{ data: TenantSummary[] }>(await admin("GET", `/usage?${query}`), 200)).data;
}

describe("GET /admin/usage", () => {
  it("sums cost per tenant, key and model within [from, to), exactly", async () => {
    const tenantId = await newTenant();
    const [first, second] = [await newKey(tenantId), await newKey(tenantId)];
    const inside = "2025-03-10T12:00:00Z";
    // 0.1 + 0.2 is 0.30000000000000004 in binary floats.
    await usageRow({ tenantId, keyId: first.id, model: "mock/echo", cost: "0.1", at: inside });
    await usageRow({ tenantId, keyId: first.id, model: "mock/echo", cost: "0.2", at: inside });
    await usageRow({ tenantId, keyId: second.id, model: "mock/embed", cost: "0.000001", at: inside });
    await usageRow({ tenantId, keyId: second.id, model: "mock/other", cost: null, at: inside });
    await usageRow({ tenantId, keyId: second.id, model: "mock/echo", cost: null, at: inside, status: 502 });
    // Outside the period on either side.
    await usageRow({ tenantId, keyId: first.id, model: "mock/echo", cost: "5", at: "2025-03-09T23:59:59Z" });
    await usageRow({ tenantId, keyId: first.id, model: "mock/echo", cost: "7", at: "2025-03-11T00:00:00Z" });

    const [tenant] = await summary(`tenant_id=${tenantId}&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z`);

    expect(tenant).toMatchObject({ tenant_id: tenantId, requests: 5, errors: 1, cost_usd: "0.300001", unpriced_requests: 1 });
    expect(tenant?.by_model.map((part) => [part.model, part.requests, part.cost_usd, part.unpriced_requests])).toEqual([
      ["mock/echo", 3, "0.3", 0],
      ["mock/embed", 1, "0.000001", 0],
      ["mock/other", 1, "0", 1],
    ]);
    const byKey = new Map(tenant?.by_key.map((part) => [part.key_id, part]));
    expect(byKey.get(first.id)).toMatchObject({ requests: 2, cost_usd: "0.3", unpriced_requests: 0 });
    expect(byKey.get(second.id)).toMatchObject({ requests: 3, errors: 1, cost_usd: "0.000001", unpriced_requests: 1 });
  });

  it("takes since and until as the same bounds, and refuses both names for one bound", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    await usageRow({ tenantId, keyId: key.id, model: "mock/echo", cost: "1.25", at: "2025-04-01T08:00:00Z" });

    const [tenant] = await summary(`tenant_id=${tenantId}&since=2025-04-01T00:00:00Z&until=2025-04-02T00:00:00Z`);
    expect(tenant?.cost_usd).toBe("1.25");

    const refused = await admin("GET", `/usage?since=2025-04-01T00:00:00Z&from=2025-04-01T00:00:00Z`);
    expect(refused.status).toBe(400);
  });

  it("counts the cost of requests served just now, per key", async () => {
    const tenantId = await newTenant();
    const key = await newKey(tenantId);
    const answer = await t.app.request(
      postJson("/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content: "a b c" }] }, key.key),
    );
    const cost = answer.headers.get("x-breakwater-cost-usd");
    expect(cost).toMatch(/^0\.0000\d+$/);

    // Usage rows are written best-effort, in batches: one that met a busy Postgres is written at the next flush.
    let [tenant] = await summary(`tenant_id=${tenantId}`);
    for (const deadline = Date.now() + 5_000; !tenant && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [tenant] = await summary(`tenant_id=${tenantId}`);
    }

    expect(tenant).toMatchObject({ requests: 1, cost_usd: cost });
    expect(tenant?.by_key).toEqual([expect.objectContaining({ key_id: key.id, cost_usd: cost })]);
  });
});
