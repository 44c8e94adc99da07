import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../regional/logger.ts";
import { parseLsn } from "../../regional/db/lsn.ts";
import { openTenantLsns, type TenantLsns } from "../../regional/db/tenant-lsns.ts";

/** Two regional instances' views of tenants' commit positions, shared through the real Redis. */
describe("tenant commit positions shared through Redis", () => {
  const logger = createLogger("silent");
  let clock = 1_000_000;
  let first: TenantLsns;
  let second: TenantLsns;
  beforeAll(async () => {
    const options = { ttlMs: 60_000, redisUrl: inject("redisUrl"), logger, now: () => clock };
    [first, second] = [await openTenantLsns(options), await openTenantLsns(options)];
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it("keeps the furthest position, also when an older commit reports last and across the 32-bit halves", async () => {
    const tenantId = randomUUID();
    await first.remember(tenantId, parseLsn("1/0"));
    await second.remember(tenantId, parseLsn("0/FFFFFFFF"));
    expect(await second.required(tenantId)).toBe(parseLsn("1/0"));
    await second.remember(tenantId, parseLsn("1/10"));
    expect(await first.required(tenantId)).toBe(parseLsn("1/10"));
    expect(await first.required(randomUUID())).toBeNull();
  });

  it("forgets a position after its time, in memory (Redis expires its copy the same way)", async () => {
    const alone = await openTenantLsns({ ttlMs: 1_000, logger, now: () => clock });
    try {
      const tenantId = randomUUID();
      await alone.remember(tenantId, parseLsn("2/0"));
      clock += 999;
      expect(await alone.required(tenantId)).toBe(parseLsn("2/0"));
      clock += 1;
      expect(await alone.required(tenantId)).toBeNull();
    } finally {
      await alone.close();
    }
  });
});
