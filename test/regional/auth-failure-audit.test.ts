import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createAuthFailureAuditor, type AuthFailureAuditor } from "../../regional/audit/auth-failures.ts";
import type { AuditInput } from "../../regional/audit/event.ts";
import type { AuditLog } from "../../regional/audit/writer.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

/** An audit log that only remembers what it was given. */
function recordingLog(): AuditLog & { events: AuditInput[] } {
  const events: AuditInput[] = [];
  return {
    region: "test",
    events,
    append: (input) => {
      events.push(input);
      return "id";
    },
    appendDurable: async (input) => {
      events.push(input);
      return "id";
    },
    appendIn: async (_tx, input) => {
      events.push(input);
      return "id";
    },
    flush: async () => {},
    recover: async () => true,
    stats: () => ({ queued: 0, journaled: 0, journalBytes: 0, lastFlushAt: null, failing: false }),
    close: async () => {},
  };
}

/** The client address is what `clientAddress(c)` decides in the app; here each request names it in `x-test-client`. */
function failingApp(auditor: AuthFailureAuditor): Hono {
  return new Hono().get("/x", (c) => {
    const address = { peer: "192.0.2.10", client: c.req.header("x-test-client") ?? null, claimed: null };
    auditor.record(c, { actorType: "key", actorId: "bw_abcdefgh", action: "auth.failure", reason: "invalid_key", address });
    return c.text("no", 401);
  });
}

const from = (ip: string) => ({ headers: { "x-test-client": ip } });

describe("sampled auth-failure auditing", () => {
  it("audits a client's first failures, then one per interval carrying how many were suppressed", async () => {
    let now = 0;
    const log = recordingLog();
    const auditor = createAuthFailureAuditor(log, { perClientPerMinute: 6, burst: 2, now: () => now });
    const app = failingApp(auditor);
    for (let attempt = 0; attempt < 50; attempt++) await app.request("/x", from("203.0.113.1"));
    expect(log.events).toHaveLength(2);
    now += 10_000; // one token back at 6 per minute
    await app.request("/x", from("203.0.113.1"));
    expect(log.events).toHaveLength(3);
    expect(log.events[2]).toMatchObject({
      action: "auth.failure",
      result: "denied",
      actorId: "bw_abcdefgh",
      ip: "203.0.113.1",
      metadata: { reason: "invalid_key", suppressed_before: 48 },
    });
    auditor.stop();
  });

  it("keeps separate budgets per client, so one attacker does not hide another client's failures", async () => {
    const log = recordingLog();
    const auditor = createAuthFailureAuditor(log, { perClientPerMinute: 6, burst: 1, now: () => 0 });
    const app = failingApp(auditor);
    for (let attempt = 0; attempt < 20; attempt++) await app.request("/x", from("203.0.113.1"));
    await app.request("/x", from("203.0.113.2"));
    expect(log.events.map((event) => event.ip)).toEqual(["203.0.113.1", "203.0.113.2"]);
    auditor.stop();
  });

  it("bounds events over all clients, so an attack from many addresses cannot flood the log either", async () => {
    const log = recordingLog();
    const auditor = createAuthFailureAuditor(log, { perClientPerMinute: 60, globalPerSecond: 5, now: () => 0 });
    const app = failingApp(auditor);
    for (let client = 0; client < 100; client++) await app.request("/x", from(`198.51.100.${client}`));
    expect(log.events).toHaveLength(5);
    auditor.stop();
  });

  it("writes what was suppressed and never reported as one summary event", async () => {
    const log = recordingLog();
    const auditor = createAuthFailureAuditor(log, { perClientPerMinute: 1, burst: 1, now: () => 0 });
    const app = failingApp(auditor);
    for (let attempt = 0; attempt < 10; attempt++) await app.request("/x", from("203.0.113.7"));
    auditor.stop();
    expect(log.events).toHaveLength(2);
    expect(log.events[1]).toMatchObject({
      action: "auth.failure_summary",
      metadata: { suppressed: 9, clients: 1, top: [{ client: "203.0.113.7", suppressed: 9 }], final: true },
    });
  });
});

describe("API key failures on /v1", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"));
  });
  afterAll(async () => t?.close());

  it("are audited with the presented key's prefix, never the key", async () => {
    const wrong = "bw_WrongKeyWrongKeyWrongKey123456";
    const response = await t.app.request(
      postJson("/v1/chat/completions", {}, wrong, { "user-agent": "probe/1", "x-request-id": "probe-0000001" }),
    );
    expect(response.status).toBe(401);
    await t.deps.audit.flush();
    const rows = await t.db.write<
      {
        actor_type: string;
        actor_id: string;
        action: string;
        result: string;
        user_agent: string;
        request_id: string;
        metadata: Record<string, unknown>;
      }[]
    >`
      select actor_type, actor_id, action, result, user_agent, request_id, metadata::text as text, metadata from audit_log where action = 'auth.failure'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_type: "key",
      actor_id: "bw_WrongKey",
      result: "denied",
      user_agent: "probe/1",
      request_id: "probe-0000001",
      metadata: { reason: "invalid_key" },
    });
    expect(JSON.stringify(rows)).not.toContain(wrong);
  });

  it("are audited as anonymous when no key was sent", async () => {
    await t.app.request("/v1/models");
    await t.deps.audit.flush();
    const [row] = await t.db.write<{ actor_type: string; metadata: Record<string, unknown> }[]>`
      select actor_type, metadata from audit_log where action = 'auth.failure' order by seq desc limit 1`;
    expect(row).toMatchObject({ actor_type: "anonymous", metadata: { reason: "missing_key" } });
  });

  it("do not slow a valid request: its usage is recorded, not audited", async () => {
    const ok = await t.app.request(
      postJson("/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content: "hi" }] }, t.apiKey),
    );
    expect(ok.status).toBe(200);
    // The usage row is taken from a copy of the body, read after the answer went out.
    const usageRows = async () => {
      await t.deps.usage.flush();
      const [usage] = await t.db.write<{ n: number }[]>`select count(*)::int as n from usage where tenant_id = ${t.tenantId}`;
      return usage?.n;
    };
    await expect.poll(usageRows, { timeout: 5_000 }).toBe(1);
    await t.deps.audit.flush();
    const [audited] = await t.db.write<{ n: number }[]>`select count(*)::int as n from audit_log where tenant_id = ${t.tenantId}`;
    expect(audited?.n).toBe(0);
  });
});
