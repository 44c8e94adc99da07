import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import type { OperatorStatus, PublicStatus } from "../../shared/status/types.ts";
import { createTestApp, testAdminKey, type TestApp } from "../support/regional-app.ts";

const secret = "edge-signing-secret-for-the-status-tests";
let t: TestApp;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey: testAdminKey });
  app = createApp({ ...t.deps, edgeSigningSecret: secret });
});
afterAll(async () => t?.close());

/** A call as the edge signs it. */
async function signed(method: string, path: string, body?: string): Promise<Request> {
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(secret, { method, pathAndQuery: path, timestampS, bodySha256: await sha256Hex(body ?? ""), headers: {} });
  return new Request(`http://regional.test${path}`, {
    method,
    headers: { "content-type": "application/json", [timestampHeader]: String(timestampS), [signatureHeader]: signature },
    body,
  });
}

const edgeIncident = (overrides: Record<string, unknown> = {}) => ({
  at: new Date().toISOString(),
  kind: "breaker_opened",
  subject: "origin-eu",
  region: "FRA",
  detail: { reason: "5 failures within 30 s" },
  ...overrides,
});

describe("incident history", () => {
  it("keeps the edge's signed incidents and regional's breaker openings, newest first, in the public status", async () => {
    const posted = await app.request(await signed("POST", "/internal/incidents", JSON.stringify({ incidents: [edgeIncident()] })));
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ accepted: 1 });
    t.deps.router.breakers.force("mock", "open");
    await t.deps.incidents?.flush();

    const response = await app.request(await signed("GET", "/internal/status"));
    expect(response.status).toBe(200);
    const status = (await response.json()) as PublicStatus;
    expect(
      status.incidents.slice(0, 2).map(({ tier, kind, subject, reason, region }) => ({ tier, kind, subject, reason, region })),
    ).toEqual([
      { tier: "regional", kind: "breaker_opened", subject: "mock", reason: "forced open", region: "test" },
      { tier: "edge", kind: "breaker_opened", subject: "origin-eu", reason: "5 failures within 30 s", region: "FRA" },
    ]);
    expect(status.components.find((c) => c.kind === "provider" && c.name === "mock")).toMatchObject({ status: "down" });
    expect(status.components.find((c) => c.name === "mock/echo")).toMatchObject({ kind: "route", status: "down" });
    t.deps.router.breakers.force("mock", null);
  });

  it("refuses unsigned incidents, and malformed, oversized or tenant-looking ones", async () => {
    const body = JSON.stringify({ incidents: [edgeIncident()] });
    const unsigned = await app.request(new Request("http://regional.test/internal/incidents", { method: "POST", body }));
    expect(unsigned.status).toBe(401);

    const bad = [
      { incidents: [edgeIncident({ kind: "tenant_note" })] },
      { incidents: [edgeIncident({ subject: "tenant 1234 said hello" })] },
      { incidents: [edgeIncident({ extra: true })] },
      { incidents: [] },
    ];
    for (const incidents of bad)
      expect((await app.request(await signed("POST", "/internal/incidents", JSON.stringify(incidents)))).status).toBe(400);

    const huge = JSON.stringify({ incidents: [edgeIncident({ detail: { reason: "x".repeat(70_000) } })] });
    expect((await app.request(await signed("POST", "/internal/incidents", huge))).status).toBe(413);
  });

  it("serves operators the operator status as JSON behind the admin key", async () => {
    expect((await app.request("/admin/status.json")).status).toBe(401);
    // The refusal is audited: once written, the chain has a head.
    await t.deps.audit.flush();
    const response = await app.request("/admin/status.json", { headers: { authorization: `Bearer ${testAdminKey}` } });
    expect(response.status).toBe(200);
    const status = (await response.json()) as OperatorStatus;
    expect(status.region).toBe("test");
    expect(status.breakers.find((b) => b.id === "mock")).toMatchObject({
      status: "closed",
      forced: null,
      probes: { in_flight: 0, max: 3 },
    });
    expect(status.audit.head_seq).toBeGreaterThan(0);
    expect(status.database.status).toBe("ok");
  });
});
