import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { auditableConfig, auditServiceStart, recordedSettings } from "../../regional/audit/service-start.ts";
import { startAuditing } from "../../regional/audit/start.ts";
import { edgeKeyInvalidator } from "../../regional/auth/edge-key-cache.ts";
import { envSchema, loadConfig } from "../../regional/config.ts";
import { dbOptionsFrom, openDb } from "../../regional/db/index.ts";
import { migrate } from "../../regional/db/migrate.ts";
import { createLogger } from "../../regional/logger.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

/** What must never come out again: a password, as it sits in a connection string or a query. */
const password = "Pw-7f3a9c1e-DO-NOT-LOG";
const withPassword = [
  `postgres://app:${password}@db.internal.example:5432/app?sslmode=require&password=${password}`,
  `redis://:${password}@cache.internal.example:6379/0`,
  `https://user:${password}@api.example.com/v1?token=${password}#${password}`,
];
/** Every setting the service reads, from the schema itself: a setting added later is covered too. */
const settingNames = Object.keys(envSchema.shape);

/** Each setting set to `value` (a list of them where the setting is a list). */
function everySettingAs(value: string): Record<string, unknown> {
  return Object.fromEntries(settingNames.map((name) => [name, name === "DATABASE_REPLICA_URLS" ? [value, value] : value]));
}

const adminKey = "admin-key-for-redaction-tests-0123456789";
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey });
});
afterAll(async () => t?.close());

describe("configuration in the service.start audit event", () => {
  it("covers every setting of the schema", () => {
    expect(settingNames.length).toBeGreaterThan(40);
    expect(settingNames).toEqual(
      expect.arrayContaining([
        "DATABASE_URL",
        "DATABASE_REPLICA_URLS",
        "REDIS_URL",
        "UPSTASH_REDIS_REST_URL",
        "ADMIN_API_KEY",
        "EDGE_SIGNING_SECRET",
      ]),
    );
  });

  it.each(withPassword)("keeps no password when every setting is a URL carrying one: %s", (url) => {
    const { settings } = auditableConfig(everySettingAs(url));
    expect(JSON.stringify(settings)).not.toContain(password);
    // URLs keep scheme, host and path: enough to see which service a start pointed at.
    const parsed = new URL(url);
    const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    expect(settings.DATABASE_URL).toBe(shown);
    expect(settings.DATABASE_REPLICA_URLS).toBe(`${shown},${shown}`);
  });

  it("records only 'set' for any setting it does not name, whatever its value", () => {
    const { settings } = auditableConfig(everySettingAs(password));
    for (const name of settingNames) {
      if (recordedSettings.has(name)) continue;
      expect(settings[name], name).toBe("set");
    }
    expect(settings.ADMIN_API_KEY).toBe("set");
    expect(settings.UPSTASH_REDIS_REST_TOKEN).toBe("set");
    expect(auditableConfig({ SOME_SETTING_ADDED_LATER: password }).settings).toEqual({ SOME_SETTING_ADDED_LATER: "set" });
  });

  it("stores no password in the audit log nor shows one in GET /admin/audit", async () => {
    for (const url of withPassword) await auditServiceStart(t.deps.audit, t.db.write, everySettingAs(url));
    await auditServiceStart(
      t.deps.audit,
      t.db.write,
      Object.fromEntries(settingNames.filter((name) => !recordedSettings.has(name)).map((name) => [name, password])),
    );
    await t.deps.audit.flush();

    const stored = await t.db.write<
      { row: string }[]
    >`select row_to_json(a)::text as row from audit_log a where action in ('service.start', 'config.change')`;
    expect(stored.length).toBeGreaterThanOrEqual(4);
    for (const { row } of stored) expect(row).not.toContain(password);

    const response = await t.app.request("/admin/audit?action=service.start&limit=50", {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect((JSON.parse(text) as { data: unknown[] }).data.length).toBeGreaterThanOrEqual(4);
    expect(text).not.toContain(password);
  });
});

describe("the logs the service writes as it starts", () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase(inject("primaryUrl"));
    dataDir = await mkdtemp(join(tmpdir(), "bw-redaction-"));
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("carry no password from any setting, also when the servers they name refuse the connection", async () => {
    const lines: string[] = [];
    const logger = createLogger("debug", (line) => lines.push(line));
    const inUrl = (url: string) => {
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    };
    // Trust auth ignores the password in the primary's URL; the others name ports nothing listens on.
    const config = loadConfig({
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      REGION: "redaction",
      DATABASE_URL: inUrl(database.url),
      DATABASE_REPLICA_URLS: `postgres://app:${password}@127.0.0.1:1/app?password=${password}`,
      DATABASE_CONNECT_TIMEOUT_MS: "1000",
      REDIS_URL: `redis://:${password}@127.0.0.1:1/0`,
      UPSTASH_REDIS_REST_URL: `http://user:${password}@127.0.0.1:1`,
      UPSTASH_REDIS_REST_TOKEN: password,
      EDGE_SIGNING_SECRET: `${password}-edge-signing-0123456789`,
      ADMIN_API_KEY: `${password}-admin-0123456789abcdef`,
      AUDIT_CHECKPOINT_SECRET: `${password}-checkpoints-0123456789`,
      OPENAI_API_KEY: password,
      OPENAI_BASE_URL: `https://user:${password}@api.example.com/v1`,
      ANTHROPIC_API_KEY: password,
      VASTAI_API_KEY: password,
      IONET_API_KEY: password,
      BREAKWATER_DEV_KEY: `bw_${password.replaceAll("-", "_")}`,
      LOG_LEVEL: "debug",
    });
    const db = await openDb(dbOptionsFrom(config, logger));
    try {
      await migrate(db.write);
      const auditing = await startAuditing(config, db, logger);
      await edgeKeyInvalidator({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN }, logger)(new Uint8Array(32));
      await auditing.deps.audit.flush();
      await auditing.close();
    } finally {
      await db.close(1);
    }
    // The replica and Redis were down, and said so.
    expect(lines.some((line) => line.includes("replica"))).toBe(true);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).not.toContain(password);
  });
});
