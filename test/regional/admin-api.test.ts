import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { verifyChain } from "../../regional/audit/verify.ts";
import { auditIdHeader } from "../../regional/http/admin-audit.ts";
import { testCheckpointSecret } from "../support/audit.ts";
import { createTestApp, detailedHealth, postJson, type TestApp } from "../support/regional-app.ts";

const adminKey = "admin-key-for-tests-0123456789abcdef";
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey, keyCacheTtlMs: 60_000 });
});
afterAll(async () => t?.close());

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id: string | null };
}
interface TenantView {
  id: string;
  name: string;
  status: string;
}
interface KeyView {
  id: string;
  tenant_id: string;
  prefix: string;
  status: string;
  key?: string;
  replaces?: string;
}
interface AuditEntry {
  seq: number;
  event_id: string;
  actor: { type: string; id: string };
  action: string;
  resource: string;
  result: string;
  tenant_id: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
}
interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

async function admin(
  method: string,
  path: string,
  body?: unknown,
  key: string = adminKey,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await t.app.request(`/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "user-agent": "admin-test/1.0", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  const body = await json<ErrorBody>(response, status);
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
  return body;
}

async function eventOf(response: Response): Promise<AuditEntry> {
  const id = response.headers.get(auditIdHeader);
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const page = await json<Page<AuditEntry>>(await admin("GET", "/audit?limit=500"), 200);
  const found = page.data.find((entry) => entry.event_id === id);
  if (!found) throw new Error(`audit event ${id} not found`);
  return found;
}

const chat = (key: string, content = "count these four words", extra: Record<string, unknown> = {}) =>
  t.app.request(postJson("/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content }], ...extra }, key));

describe("admin authentication", () => {
  it("answers 403 admin_disabled when no admin key is configured", async () => {
    const disabled = await createTestApp(inject("primaryUrl"));
    try {
      const response = await disabled.app.request("/admin/tenants", { headers: { authorization: `Bearer ${adminKey}` } });
      const body = await expectError(response, 403, "admin_disabled");
      expect(body.error.message).toMatch(/ADMIN_API_KEY/);
    } finally {
      await disabled.close();
    }
  });

  it("answers 401 invalid_admin_key without a key, with a wrong one, and with a tenant's API key", async () => {
    await expectError(await t.app.request("/admin/tenants"), 401, "invalid_admin_key");
    await expectError(await admin("GET", "/tenants", undefined, `${adminKey}x`), 401, "invalid_admin_key");
    await expectError(await admin("GET", "/tenants", undefined, t.apiKey), 401, "invalid_admin_key");
  });

  it("takes the admin key from x-admin-key too", async () => {
    const response = await t.app.request("/admin/tenants", { headers: { "x-admin-key": adminKey } });
    expect(response.status).toBe(200);
  });

  it("audits failed admin logins, sampled, and never an event per attempt under attack", async () => {
    await t.deps.audit.flush();
    const before = await json<Page<AuditEntry>>(await admin("GET", "/audit?action=admin.auth_failure&limit=500"), 200);
    for (let attempt = 0; attempt < 40; attempt++)
      await admin("GET", "/tenants", undefined, "wrong-admin-key", { "x-forwarded-for": "198.51.100.9" });
    await t.deps.audit.flush();
    const after = await json<Page<AuditEntry>>(await admin("GET", "/audit?action=admin.auth_failure&limit=500"), 200);
    const added = after.data.filter((entry) => !before.data.some((old) => old.event_id === entry.event_id));
    expect(added.length).toBeGreaterThan(0);
    expect(added.length).toBeLessThanOrEqual(5);
    expect(added[0]).toMatchObject({
      result: "denied",
      actor: { type: "anonymous" },
      metadata: { reason: "invalid_admin_key", forwarded_for: "198.51.100.9" },
    });
  });
});

describe("tenants", () => {
  it("are created with a durable audit event naming admin, action, resource and request", async () => {
    const response = await admin("POST", "/tenants", { name: "Acme" }, adminKey, { "x-request-id": "admin-req-0001" });
    const tenant = await json<TenantView>(response, 201);
    expect(tenant).toMatchObject({ object: "tenant", name: "Acme", status: "active" });
    const event = await eventOf(response);
    expect(event).toMatchObject({
      actor: { type: "admin", id: expect.stringMatching(/^admin:[0-9a-f]{8}$/) },
      action: "tenant.create",
      resource: `tenant:${tenant.id}`,
      result: "success",
      tenant_id: tenant.id,
      request_id: "admin-req-0001",
      metadata: { name: "Acme", status: 201, method: "POST" },
    });
  });

  it("reject a bad body with the usual 400 and audit the failed attempt", async () => {
    const response = await admin("POST", "/tenants", { name: "" });
    const body = await expectError(response, 400, "invalid_request");
    expect(body.error.param).toBe("name");
    expect(await eventOf(response)).toMatchObject({
      action: "tenant.create",
      result: "failure",
      metadata: { status: 400, error: "invalid_request" },
    });
    await expectError(await admin("POST", "/tenants", "{nope"), 400, "invalid_json");
  });

  it("list newest first, page by cursor without repeats, and filter by status", async () => {
    const created: string[] = [];
    for (let index = 0; index < 5; index++)
      created.push((await json<TenantView>(await admin("POST", "/tenants", { name: `page-${index}` }), 201)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<TenantView> = await json<Page<TenantView>>(
        await admin("GET", `/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`),
        200,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((tenant) => tenant.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 5)).toEqual([...created].reverse());
    await expectError(await admin("GET", "/tenants?cursor=garbage"), 400, "invalid_request");
    await expectError(await admin("GET", "/tenants?limit=0"), 400, "invalid_request");
  });

  it("disabled, stop their keys at once (cached or not) and refuse new keys", async () => {
    const tenant = await json<TenantView>(await admin("POST", "/tenants", { name: "to disable" }), 201);
    const key = await json<KeyView>(await admin("POST", `/tenants/${tenant.id}/keys`, { name: "k" }), 201);
    expect((await chat(key.key ?? "")).status).toBe(200);
    const response = await admin("POST", `/tenants/${tenant.id}/disable`);
    expect(await json<TenantView>(response, 200)).toMatchObject({ status: "disabled" });
    expect(await eventOf(response)).toMatchObject({ action: "tenant.disable", tenant_id: tenant.id, result: "success" });
    await expectError(await chat(key.key ?? ""), 401, "invalid_api_key");
    await expectError(await admin("POST", `/tenants/${tenant.id}/keys`, {}), 409, "conflict");
    const listed = await json<Page<TenantView>>(await admin("GET", "/tenants?status=disabled&limit=200"), 200);
    expect(listed.data.map((item) => item.id)).toContain(tenant.id);
  });

  it("answer 404 for an unknown or malformed id", async () => {
    await expectError(await admin("GET", "/tenants/00000000-0000-4000-8000-000000000000"), 404, "not_found");
    await expectError(await admin("POST", "/tenants/not-a-uuid/disable"), 404, "not_found");
    await expectError(await admin("GET", "/tenants/not-a-uuid/keys"), 404, "not_found");
  });
});

describe("API keys", () => {
  let tenantId: string;
  beforeAll(async () => {
    tenantId = (await json<TenantView>(await admin("POST", "/tenants", { name: "keys" }), 201)).id;
  });

  it("are shown once at creation, work at once, and are listed by prefix only", async () => {
    const response = await admin("POST", `/tenants/${tenantId}/keys`, { name: "ci" });
    const created = await json<KeyView>(response, 201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(created.key).toMatch(/^bw_[A-Za-z0-9]{32}$/);
    expect(created.prefix).toBe(created.key?.slice(0, 11));
    expect((await chat(created.key ?? "")).status).toBe(200);
    const event = await eventOf(response);
    expect(event).toMatchObject({
      action: "key.create",
      resource: `api_key:${created.id}`,
      tenant_id: tenantId,
      metadata: { prefix: created.prefix },
    });
    expect(JSON.stringify(event)).not.toContain(created.key);

    const listResponse = await admin("GET", `/tenants/${tenantId}/keys`);
    const text = await listResponse.text();
    expect(text).not.toContain(created.key);
    const list = JSON.parse(text) as Page<KeyView>;
    expect(list.data.find((key) => key.id === created.id)).toMatchObject({ prefix: created.prefix, status: "active" });
  });

  it("rotate to a new key that works while the old one stops at once, even though it was cached", async () => {
    const old = await json<KeyView>(await admin("POST", `/tenants/${tenantId}/keys`, { name: "rotating" }), 201);
    expect((await chat(old.key ?? "")).status).toBe(200);
    const response = await admin("POST", `/keys/${old.id}/rotate`);
    const rotated = await json<KeyView>(response, 201);
    expect(rotated).toMatchObject({ replaces: old.id, tenant_id: tenantId, name: "rotating" });
    expect(rotated.key).not.toBe(old.key);
    await expectError(await chat(old.key ?? ""), 401, "invalid_api_key");
    expect((await chat(rotated.key ?? "")).status).toBe(200);
    expect(await eventOf(response)).toMatchObject({
      action: "key.rotate",
      resource: `api_key:${old.id}`,
      metadata: { new_key: rotated.id },
    });
    await expectError(await admin("POST", `/keys/${old.id}/rotate`), 409, "conflict");
  });

  it("revoke at once, even a cached key, and revoking again is harmless", async () => {
    const key = await json<KeyView>(await admin("POST", `/tenants/${tenantId}/keys`, {}), 201);
    expect((await chat(key.key ?? "")).status).toBe(200);
    const response = await admin("POST", `/keys/${key.id}/revoke`);
    expect(await json<KeyView>(response, 200)).toMatchObject({ id: key.id, status: "revoked" });
    await expectError(await chat(key.key ?? ""), 401, "invalid_api_key");
    expect(await eventOf(response)).toMatchObject({ action: "key.revoke", result: "success", tenant_id: tenantId });
    expect((await admin("POST", `/keys/${key.id}/revoke`)).status).toBe(200);
    await expectError(await admin("POST", "/keys/00000000-0000-4000-8000-000000000000/revoke"), 404, "not_found");
  });
});

describe("the audit query", () => {
  it("filters by action, tenant and result, newest first, and pages by cursor", async () => {
    const tenant = await json<TenantView>(await admin("POST", "/tenants", { name: "audited" }), 201);
    for (let index = 0; index < 5; index++) await admin("POST", `/tenants/${tenant.id}/keys`, { name: `k${index}` });
    const all = await json<Page<AuditEntry>>(await admin("GET", `/audit?tenant_id=${tenant.id}&action=key.create`), 200);
    expect(all.data).toHaveLength(5);
    expect(all.data.map((entry) => entry.seq)).toEqual([...all.data.map((entry) => entry.seq)].sort((a, b) => b - a));
    const pages: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<AuditEntry> = await json<Page<AuditEntry>>(
        await admin("GET", `/audit?tenant_id=${tenant.id}&action=key.create&limit=2${cursor ? `&cursor=${cursor}` : ""}`),
        200,
      );
      pages.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages.map((entry) => entry.event_id)).toEqual(all.data.map((entry) => entry.event_id));
    const failures = await json<Page<AuditEntry>>(await admin("GET", "/audit?result=failure&actor_type=admin"), 200);
    expect(failures.data.length).toBeGreaterThan(0);
    for (const entry of failures.data) expect(entry.result).toBe("failure");
  });

  it("filters by time window", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await json<Page<AuditEntry>>(await admin("GET", `/audit?since=${future}`), 200)).data).toEqual([]);
    expect((await json<Page<AuditEntry>>(await admin("GET", `/audit?until=${future}&limit=1`), 200)).data).toHaveLength(1);
  });

  it("rejects unknown filter values with the usual 400", async () => {
    await expectError(await admin("GET", "/audit?result=maybe"), 400, "invalid_request");
    await expectError(await admin("GET", "/audit?since=yesterday"), 400, "invalid_request");
    await expectError(await admin("GET", "/audit?cursor=eyJ4IjoxfQ"), 400, "invalid_request");
  });

  it("is audited itself", async () => {
    const response = await admin("GET", "/audit?action=tenant.create&limit=1");
    expect(await eventOf(response)).toMatchObject({ action: "audit.query", metadata: { filter: { action: "tenant.create" } } });
  });
});

describe("GET /admin/audit/verify", () => {
  it("reports the chain ok with its head", async () => {
    const response = await admin("GET", "/audit/verify");
    const body = await json<{ ok: boolean; events: number; head_seq: number; broken_at: number | null }>(response, 200);
    expect(body).toMatchObject({ object: "audit.verification", region: "test", ok: true, broken_at: null });
    expect(body.head_seq).toBe(body.events);
    expect(await eventOf(response)).toMatchObject({ action: "audit.verify", metadata: { ok: true } });
  });
});

describe("usage", () => {
  it("sums requests, errors and tokens per tenant, streams included, with latency", async () => {
    const tenant = await json<TenantView>(await admin("POST", "/tenants", { name: "usage" }), 201);
    const key = (await json<KeyView>(await admin("POST", `/tenants/${tenant.id}/keys`, {}), 201)).key ?? "";
    expect((await chat(key, "one two three")).status).toBe(200);
    const streamed = await chat(key, "four five", { stream: true, stream_options: { include_usage: true } });
    await streamed.text();
    expect(
      (await t.app.request(postJson("/v1/chat/completions", { model: "mock/nope", messages: [{ role: "user", content: "x" }] }, key)))
        .status,
    ).toBe(404);
    // A large answer (about 200 kB of vectors): its usage is read from its end.
    const embedded = await t.app.request(
      postJson("/v1/embeddings", { model: "mock/embed", input: Array.from({ length: 1_000 }, (_, index) => `text ${index}`) }, key),
    );
    expect((await embedded.text()).length).toBeGreaterThan(64 * 1024);
    const usageOf = async () => {
      const response = await admin("GET", `/usage?tenant_id=${tenant.id}`);
      return {
        response,
        summary: await json<{
          data: {
            tenant_id: string;
            requests: number;
            errors: number;
            completion_tokens: number;
            total_tokens: number;
            latency_ms: { avg: number; p95: number };
            by_model: { model: string | null; prompt_tokens: number }[];
          }[];
        }>(response, 200),
      };
    };
    // Usage rows of JSON answers are taken from a copy of the body, read after the answer went out.
    await expect.poll(async () => (await usageOf()).summary.data[0]?.requests, { timeout: 5_000 }).toBe(4);
    const { response, summary } = await usageOf();
    expect(summary.data).toHaveLength(1);
    expect(summary.data[0]).toMatchObject({ tenant_id: tenant.id, requests: 4, errors: 1, completion_tokens: 5 });
    expect(summary.data[0]?.total_tokens).toBeGreaterThan(1_000);
    expect(summary.data[0]?.by_model.find((part) => part.model === "mock/embed")?.prompt_tokens).toBeGreaterThanOrEqual(1_000);
    expect(await eventOf(response)).toMatchObject({ action: "usage.summary", tenant_id: tenant.id });
    await expectError(await admin("GET", "/usage?tenant_id=nope"), 400, "invalid_request");
  });
});

describe("every admin action", () => {
  it("is in the audit log, and the chain verifies", async () => {
    await t.deps.audit.flush();
    const rows = await t.db.write<{ n: number }[]>`select count(*)::int as n from audit_log where actor_type = 'admin'`;
    expect(rows[0]?.n).toBeGreaterThan(30);
    expect(await verifyChain(t.db.write, "test", testCheckpointSecret)).toMatchObject({ ok: true });
  });

  it("under /admin but unknown is answered 404 and audited too", async () => {
    const response = await admin("DELETE", "/nothing-here");
    await expectError(response, 404, "not_found");
    expect(await eventOf(response)).toMatchObject({ action: "admin.request", resource: "/admin/nothing-here", result: "failure" });
  });
});

describe("circuit breakers", () => {
  interface BreakerView {
    id: string;
    status: string;
    forced: string | null;
  }

  it("lists every provider's breaker before its first call", async () => {
    const page = await json<{ data: BreakerView[] }>(await admin("GET", "/circuit-breakers"), 200);
    expect(page.data.find((breaker) => breaker.id === "mock")).toMatchObject({ status: "closed", forced: null });
  });

  it("can be forced open, which stops traffic to the provider, and handed back; each change audited", async () => {
    const opened = await admin("POST", "/circuit-breakers/mock", { state: "open" });
    expect(await json<BreakerView>(opened, 200)).toMatchObject({ id: "mock", status: "open", forced: "open" });
    expect(await eventOf(opened)).toMatchObject({
      action: "breaker.force",
      resource: "breaker:mock",
      result: "success",
      metadata: { state: "open" },
    });

    const health = (await (await detailedHealth(t)).json()) as { breakers: BreakerView[] };
    expect(health.breakers.find((breaker) => breaker.id === "mock")).toEqual({ id: "mock", status: "open", forced: "open" });

    const refused = await chat(t.apiKey);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as ErrorBody).error.message).toContain("mock/echo: circuit open");

    const released = await admin("POST", "/circuit-breakers/mock", { state: "auto" });
    expect(await json<BreakerView>(released, 200)).toMatchObject({ status: "closed", forced: null });
    expect((await chat(t.apiKey)).status).toBe(200);
  });

  it("answers 404 for an unknown breaker and 400 for an unknown state", async () => {
    await expectError(await admin("POST", "/circuit-breakers/nobody", { state: "open" }), 404, "not_found");
    await expectError(await admin("POST", "/circuit-breakers/mock", { state: "half" }), 400, "invalid_request");
    await expectError(await admin("GET", "/circuit-breakers", undefined, "wrong-admin-key-0123456789abcdefghij"), 401, "invalid_admin_key");
  });
});
