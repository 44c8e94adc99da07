import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import type { AuditLog } from "../../regional/audit/writer.ts";
import { auditIdHeader } from "../../regional/http/admin-audit.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const adminKey = "admin-key-for-commit-tests-0123456789abcdef";
const headers = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey });
});
afterAll(async () => t?.close());

/** The app with an audit log whose in-transaction writes fail, as a full disk or a broken chain would. */
function appWithFailingEvents(): ReturnType<typeof createApp> {
  const audit: AuditLog = { ...t.deps.audit, appendIn: async () => await Promise.reject(new Error("the audit log refused the event")) };
  return createApp({ ...t.deps, audit });
}

describe("an admin change and its audit event", () => {
  it("commit together: the event is in the log the moment the change answers, in the same transaction", async () => {
    const created = await t.app.request("/admin/tenants", {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "committed together" }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // Not flushed: nothing is waiting in the writer's queue for this change.
    const [event] = await t.db.write<{ action: string; resource: string; result: string; metadata: { status: number } }[]>`
      select action, resource, result, metadata from audit_log where event_id = ${created.headers.get(auditIdHeader)}`;
    expect(event).toMatchObject({ action: "tenant.create", resource: `tenant:${id}`, result: "success", metadata: { status: 201 } });
  });

  it("leave no change behind when the event cannot be written, and the failure is audited", async () => {
    const app = appWithFailingEvents();
    const refused = await app.request("/admin/tenants", {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "never without its event" }),
    });
    expect(refused.status).toBe(500);
    const [tenant] = await t.db.write<{ n: number }[]>`select count(*)::int as n from tenants where name = 'never without its event'`;
    expect(tenant?.n).toBe(0);
    await t.deps.audit.flush();
    const [failure] = await t.db.write<{ action: string; result: string; metadata: { error: string } }[]>`
      select action, result, metadata from audit_log where event_id = ${refused.headers.get(auditIdHeader)}`;
    expect(failure).toMatchObject({ action: "tenant.create", result: "failure", metadata: { error: "internal_error" } });
  });

  it("leave a key active when its revocation cannot be audited, and a new key uncreated", async () => {
    const created = await t.app.request(`/admin/tenants/${t.tenantId}/keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "kept" }),
    });
    const { id } = (await created.json()) as { id: string };
    const app = appWithFailingEvents();

    expect((await app.request(`/admin/keys/${id}/revoke`, { method: "POST", headers })).status).toBe(500);
    const [key] = await t.db.write<{ status: string }[]>`select status from api_keys where id = ${id}`;
    expect(key?.status).toBe("active");

    const before = await t.db.write<{ n: number }[]>`select count(*)::int as n from api_keys where tenant_id = ${t.tenantId}`;
    expect(
      (await app.request(`/admin/tenants/${t.tenantId}/keys`, { method: "POST", headers, body: JSON.stringify({ name: "never" }) })).status,
    ).toBe(500);
    expect(await t.db.write<{ n: number }[]>`select count(*)::int as n from api_keys where tenant_id = ${t.tenantId}`).toEqual(before);
  });
});
