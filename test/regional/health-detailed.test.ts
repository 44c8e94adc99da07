import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { journalPath } from "../../regional/audit/journal.ts";
import { openAuditLog } from "../../regional/audit/open.ts";
import type { AppDeps } from "../../regional/deps.ts";
import { createReplayGuard, type ReplayGuard } from "../../regional/http/replay-guard.ts";
import { createLogger } from "../../regional/logger.ts";
import { createSecrets, type Secrets } from "../../regional/secrets/secrets.ts";
import { secretsManagerSource } from "../../regional/secrets/secrets-manager.ts";
import { resolveSecretSettings } from "../../regional/secrets/settings.ts";
import { createSecretStore } from "../../regional/secrets/store.ts";
import { startRedis, type RedisServer } from "../infra/redis.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { sampleEvent, silentLogger, testCheckpointSecret } from "../support/audit.ts";
import { createTestApp, testAdminKey, type TestApp } from "../support/regional-app.ts";
import { startSecretsManagerServer, type SecretsManagerServer } from "../support/secrets-manager-server.ts";

const dbPasswordValue = "db-password-value-never-shown";
const adminKeyValue = "admin-key-value-never-shown-0123456789";

/** The secrets' clock: the test moves it instead of waiting. */
const clock = { ms: Date.parse("2030-01-02T03:04:05.000Z") };

let t: TestApp;
let sm: SecretsManagerServer;
let redis: RedisServer;
let replay: ReplayGuard;
let secrets: Secrets;

beforeAll(async () => {
  [sm, redis] = await Promise.all([startSecretsManagerServer(), startRedis()]);
  // A Redis of this file's own, shared by the db's tenant positions and the replay guard: this file stops it.
  t = await createTestApp(inject("primaryUrl"), { adminKey: testAdminKey, db: { redisUrl: redis.url } });
  replay = createReplayGuard({ redisUrl: redis.url });

  sm.put("health/db", JSON.stringify({ username: "breakwater", password: dbPasswordValue }));
  sm.put("health/admin", adminKeyValue);
  const source = secretsManagerSource({
    endpoint: sm.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  const logger = createLogger("silent");
  secrets = createSecrets(createSecretStore({ source, ttlMs: 60_000, logger, now: () => clock.ms, random: () => 0 }), logger);
  await resolveSecretSettings(
    { DATABASE_PASSWORD: "secretsmanager:health/db#password", ADMIN_API_KEY: "secretsmanager:health/admin" },
    secrets,
  );
});
afterAll(async () => {
  await replay?.close();
  await t?.close();
  await Promise.all([sm?.close(), redis?.stop()]);
});

/** The app as main.ts wires it: Redis by each client's use, and the secret references. */
function appWith(deps: Partial<AppDeps> = {}) {
  return createApp({
    ...t.deps,
    replay,
    redisHealth: () => ({ replay_guard: replay.redis(), tenant_lsns: t.db.redis() }),
    secretsFreshness: () => secrets.freshness(),
    ...deps,
  });
}

async function detailed(app: ReturnType<typeof createApp>): Promise<{ text: string; body: Record<string, unknown> }> {
  const response = await app.request("/health/detailed", { headers: { authorization: `Bearer ${testAdminKey}` } });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, body: JSON.parse(text) as Record<string, unknown> };
}

describe("/health/detailed: the audit writer", () => {
  it("shows an empty backlog and journal, and when events last reached Postgres", async () => {
    const before = Date.now();
    await t.deps.audit.appendDurable(sampleEvent(1));
    const { body } = await detailed(appWith());
    expect(body.audit).toEqual({ queued: 0, journaled: 0, journal_bytes: 0, last_flush_at: expect.any(String), failing: false });
    expect(Date.parse((body.audit as { last_flush_at: string }).last_flush_at)).toBeGreaterThanOrEqual(before);
  });

  it("shows it failing over to the journal, with the events and bytes there, while Postgres cannot be reached", async () => {
    // Nothing listens on port 1: every write fails to connect.
    const unreachable = postgres("postgres://postgres@127.0.0.1:1/none", { max: 1, connect_timeout: 2, onnotice: () => {} });
    const dataDir = await mkdtemp(join(tmpdir(), "bw-health-audit-"));
    const audit = await openAuditLog({
      sql: unreachable,
      region: "health",
      dataDir,
      logger: silentLogger,
      checkpointSecret: testCheckpointSecret,
      flushIntervalMs: 3_600_000,
      flushEvents: 100,
      checkpointIntervalMs: 3_600_000,
      retryAfterMs: 3_600_000,
    });
    try {
      for (let index = 0; index < 3; index++) await audit.appendDurable(sampleEvent(index));
      const { body } = await detailed(appWith({ audit }));
      const { size } = await stat(journalPath(join(dataDir, "audit"), "health"));
      expect(size).toBeGreaterThan(0);
      expect(body.audit).toEqual({ queued: 0, journaled: 3, journal_bytes: size, last_flush_at: null, failing: true });
    } finally {
      await audit.close();
      await unreachable.end({ timeout: 0 });
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("/health/detailed: secrets", () => {
  it("names each reference as configured, with when it was last read, and never a value", async () => {
    const { text, body } = await detailed(appWith());
    const readAt = new Date(clock.ms).toISOString();
    expect(body.secrets).toEqual([
      {
        reference: "secretsmanager:health/db#password",
        stage: "AWSCURRENT",
        used_by: ["DATABASE_PASSWORD"],
        last_read_at: readAt,
        last_refresh_failed: false,
      },
      {
        reference: "secretsmanager:health/admin",
        stage: "AWSCURRENT",
        used_by: ["ADMIN_API_KEY"],
        last_read_at: readAt,
        last_refresh_failed: false,
      },
    ]);
    expect(text).not.toContain(dbPasswordValue);
    expect(text).not.toContain(adminKeyValue);
  });

  it("flags a refresh that failed while the last good value stays in use, and clears it once a read succeeds", async () => {
    const readAt = new Date(clock.ms).toISOString();
    const admin = secrets.secret({ name: "health/admin" });
    sm.outage(true);
    clock.ms += 5_000;
    expect(await admin.refresh("test")).toBe(adminKeyValue);
    const failed = (await detailed(appWith())).body.secrets as Record<string, unknown>[];
    expect(failed.find((secret) => secret.reference === "secretsmanager:health/admin")).toMatchObject({
      last_read_at: readAt,
      last_refresh_failed: true,
    });
    expect(failed.find((secret) => secret.reference === "secretsmanager:health/db#password")).toMatchObject({ last_refresh_failed: false });

    sm.outage(false);
    clock.ms += 5_000;
    await admin.refresh("test");
    const fresh = (await detailed(appWith())).body.secrets as Record<string, unknown>[];
    expect(fresh.find((secret) => secret.reference === "secretsmanager:health/admin")).toMatchObject({
      last_read_at: new Date(clock.ms).toISOString(),
      last_refresh_failed: false,
    });
  });
});

describe("/health/detailed: Redis", () => {
  it("is left out without REDIS_URL", async () => {
    const { body } = await detailed(appWith({ redisHealth: undefined }));
    expect(body).not.toHaveProperty("redis");
  });

  it("shows each client up, then down with the time of its last error once Redis is gone, never its URL", async () => {
    await waitUntil("the replay guard to reach Redis", async () => replay.redis()?.up === true, { timeoutMs: 5_000, intervalMs: 10 });
    const up = await detailed(appWith());
    expect(up.body.redis).toEqual({
      status: "up",
      last_error_at: null,
      clients: { replay_guard: { up: true, last_error_at: null }, tenant_lsns: { up: true, last_error_at: null } },
    });

    const before = Date.now();
    await redis.stop();
    await waitUntil(
      "both clients to see Redis gone",
      async () => replay.redis()?.lastErrorAt != null && t.db.redis()?.lastErrorAt != null,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const down = await detailed(appWith());
    expect(down.body.redis).toMatchObject({
      status: "down",
      last_error_at: expect.any(String),
      clients: {
        replay_guard: { up: false, last_error_at: expect.any(String) },
        tenant_lsns: { up: false, last_error_at: expect.any(String) },
      },
    });
    expect(Date.parse((down.body.redis as { last_error_at: string }).last_error_at)).toBeGreaterThanOrEqual(before);
    for (const text of [up.text, down.text]) {
      expect(text).not.toContain("redis://");
      expect(text).not.toContain(`:${redis.port}`);
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    }
  });
});
