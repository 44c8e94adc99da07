import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestApp, detailedHealth, testAdminKey, type TestApp } from "../support/regional-app.ts";

/** A replica nothing listens for: it is down, and its driver error names host and port. */
const deadReplica = "postgres://postgres@127.0.0.1:1/nowhere";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), {
    adminKey: testAdminKey,
    db: { replicaUrls: [deadReplica], connectTimeoutMs: 1_000, healthCheckIntervalMs: 600_000 },
  });
  await t.db.checkHealth();
});
afterAll(async () => t?.close());

describe("public health endpoints", () => {
  it.each([
    ["/health", { status: "ok" }],
    ["/health/live", { status: "ok" }],
    ["/health/ready", { status: "ready" }],
  ])("%s says a status word and nothing else", async (path, body) => {
    const response = await t.app.request(path);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(body);
  });
});

describe("GET /health/detailed", () => {
  it("needs the admin key", async () => {
    expect((await t.app.request("/health/detailed")).status).toBe(401);
    expect((await t.app.request("/health/detailed", { headers: { authorization: "Bearer not-the-admin-key" } })).status).toBe(401);
    const disabled = await createTestApp(inject("primaryUrl"));
    try {
      expect((await disabled.app.request("/health/detailed", { headers: { authorization: `Bearer ${testAdminKey}` } })).status).toBe(403);
    } finally {
      await disabled.close();
    }
  });

  it("shows every node by its role, never its host, port or the driver's error text", async () => {
    const response = await detailedHealth(t);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    const body = JSON.parse(text) as {
      database: { primary: Record<string, unknown>; replicas: Record<string, unknown>[] };
      usage: Record<string, number>;
    };
    expect(body.database.primary).toMatchObject({ up: true });
    expect(body.database.replicas).toEqual([expect.objectContaining({ name: "replica-1", up: false, in_rotation: false, reason: "down" })]);
    expect(body.usage).toEqual({ queued: expect.any(Number), dropped: 0, setAside: 0 });
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain(new URL(inject("primaryUrl")).port);
    expect(text).not.toMatch(/ECONNREFUSED|connect|nowhere/i);
  });
});
