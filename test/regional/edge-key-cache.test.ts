import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { generateApiKey, hashApiKey } from "../../regional/auth/api-key.ts";
import { edgeKeyInvalidator } from "../../regional/auth/edge-key-cache.ts";
import { findKeyRecord } from "../../regional/auth/key-records.ts";
import { ensureDevKey } from "../../regional/dev-tenant.ts";
import { createLogger, type LogFields } from "../../regional/logger.ts";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const upstash = { url: inject("upstashUrl"), token: inject("upstashToken") };
const redis = new Redis({ ...upstash, enableTelemetry: false });
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"));
});
afterAll(async () => t?.close());

describe("invalidateEdgeKey", () => {
  it("deletes the edge's Upstash copy of a key record", async () => {
    const hash = hashApiKey(generateApiKey());
    const cacheKey = keyRecordCacheKey(hash.toString("hex"));
    await redis.set(cacheKey, { v: 1, record: null }, { ex: 60 });

    await edgeKeyInvalidator(upstash, createLogger("silent"))(hash);

    expect(await redis.get(cacheKey)).toBeNull();
  });

  it("does nothing without Upstash, and only logs when Upstash fails", async () => {
    const warnings: string[] = [];
    const logger = createLogger("warn", (line) => warnings.push(line));
    await edgeKeyInvalidator({}, logger)(hashApiKey(generateApiKey()));
    expect(warnings).toEqual([]);

    await expect(
      edgeKeyInvalidator({ url: "http://127.0.0.1:1", token: "x" }, logger)(hashApiKey(generateApiKey())),
    ).resolves.toBeUndefined();
    expect(warnings.map((line) => (JSON.parse(line) as LogFields).msg)).toEqual([
      "could not drop the edge's cached key record; it expires within 60 s",
    ]);
  });
});

describe("the dev key's limits", () => {
  it("follow BREAKWATER_DEV_RPM and BREAKWATER_DEV_TPM on every start", async () => {
    const devKey = generateApiKey();
    await ensureDevKey(t.db, t.keys, { devKey, dataDir: "", limits: { rpm: 100_000 } });
    expect((await findKeyRecord(t.db, hashApiKey(devKey)))?.limits).toEqual({ rpm: 100_000, tpm: 400_000 });

    await ensureDevKey(t.db, t.keys, { devKey, dataDir: "", limits: { tpm: 9_000_000 } });
    const record = await findKeyRecord(t.db, hashApiKey(devKey));
    expect(record?.limits).toEqual({ rpm: 100_000, tpm: 9_000_000 });
    expect(record?.tenant_limits).toEqual({ rpm: 100_000, tpm: 9_000_000 });
  });
});
