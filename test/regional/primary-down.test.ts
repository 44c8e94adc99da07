import { Hono } from "hono";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppEnv } from "../../regional/http/context.ts";
import { errorHandler } from "../../regional/http/errors.ts";
import { createLogger } from "../../regional/logger.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const adminKey = "admin-key-for-primary-down-tests-0123456789";
const admin = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };

describe("the regional service with its primary down", () => {
  let cluster: PostgresCluster;
  let app: TestApp;
  let tenantId: string;
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = admin) =>
    await app.app.request(`http://regional.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    cluster = await startPostgres();
    // Checks only when the test asks, so what the service knows about the primary is the test's choice.
    app = await createTestApp(cluster.primaryUrl, {
      adminKey,
      replicaServerUrl: cluster.replicaUrl,
      db: { healthCheckIntervalMs: 60_000 },
    });
    const created = await request("POST", "/admin/tenants", { name: "before the outage" });
    expect(created.status).toBe(201);
    tenantId = ((await created.json()) as { id: string }).id;
    await cluster.waitForReplay();
    await app.db.checkHealth();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  it("answers writes 503 with Retry-After, serves reads and API keys from the replica, and says so in /health/detailed", async () => {
    await cluster.stopPrimary("immediate");
    const health = await app.db.checkHealth();
    expect(health.primary.up).toBe(false);

    const write = await request("POST", "/admin/tenants", { name: "during the outage" });
    expect(write.status).toBe(503);
    expect(Number(write.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await write.json()) as { error: { code: string } }).error.code).toBe("unavailable");

    const read = await request("GET", `/admin/tenants/${tenantId}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { name: string }).name).toBe("before the outage");
    const keys = await request("GET", `/admin/tenants/${app.tenantId}/keys`);
    expect(keys.status).toBe(200);
    const models = await request("GET", "/v1/models", undefined, { authorization: `Bearer ${app.apiKey}` });
    expect(models.status).toBe(200);

    const detail = await request("GET", "/health/detailed");
    expect(detail.status).toBe(200);
    const text = await detail.text();
    const body = JSON.parse(text) as {
      status: string;
      database: {
        primary: { up: boolean };
        reads: string;
        replicas: { name: string; up: boolean; in_rotation: boolean; lag_ms: number }[];
      };
    };
    expect(body.status).toBe("degraded");
    expect(body.database.primary.up).toBe(false);
    expect(body.database.reads).toBe("replicas");
    expect(body.database.replicas).toMatchObject([{ name: "replica-1", up: true, in_rotation: true, lag_ms: 0 }]);
    // No host, port or driver error text, even for the admin: those stay in the logs.
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain(String(cluster.primaryPort));
    expect(text).not.toMatch(/ECONNREFUSED|connect|terminat/i);
    const ready = await request("GET", "/health/ready", undefined, {});
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "degraded" });
    expect(await (await request("GET", "/health", undefined, {})).json()).toEqual({ status: "degraded" });
  });

  it("commits again over recovered connections once the primary is back", async () => {
    await cluster.startPrimary();
    await waitUntil("the primary to be seen up", async () => (await app.db.checkHealth()).primary.up === true);
    const created = await request("POST", "/admin/tenants", { name: "after the outage" });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // The new tenant reads itself back at once, whichever node has it.
    const read = await request("GET", `/admin/tenants/${id}`);
    expect(read.status).toBe(200);
    expect((await request("GET", "/health/detailed")).status).toBe(200);
    expect(await (await request("GET", "/health/ready", undefined, {})).json()).toEqual({ status: "ready" });
  });
});

describe("a database connection error reaching the error handler", () => {
  it("leaves as a 503 unavailable with Retry-After, not a 500", async () => {
    // A real driver error: nothing listens on port 1.
    const sql = postgres("postgres://postgres@127.0.0.1:1/none", { max: 1, connect_timeout: 2, onnotice: () => {} });
    const app = new Hono<AppEnv>();
    app.onError(errorHandler(createLogger("silent")));
    app.get("/", async (c) => c.json(await sql`select 1`));
    try {
      const response = await app.request("/");
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(((await response.json()) as { error: { code: string; type: string } }).error).toMatchObject({
        code: "unavailable",
        type: "service_unavailable",
      });
    } finally {
      await sql.end({ timeout: 0 });
    }
  });
});
