import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../../regional/logger.ts";
import { createUsageRecorder, type UsageEvent } from "../../regional/usage/recorder.ts";
import { createAuditDb, type AuditDb } from "../support/audit.ts";

let database: AuditDb;
beforeAll(async () => {
  database = await createAuditDb(inject("primaryUrl"));
});
afterAll(async () => database?.close());

const tenantId = randomUUID();
const row = (requestId: string, change: Partial<UsageEvent> = {}): UsageEvent => ({
  tenantId,
  keyId: null,
  requestId,
  kind: "chat",
  provider: "mock",
  model: "echo",
  status: 200,
  promptTokens: 1,
  completionTokens: 2,
  totalTokens: 3,
  costUsd: null,
  latencyMs: 5,
  at: new Date(),
  ...change,
});

async function storedRequestIds(): Promise<string[]> {
  const rows = await database.db.write<
    { request_id: string }[]
  >`select request_id from usage where tenant_id = ${tenantId} order by request_id`;
  return rows.map((stored) => stored.request_id);
}

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger("info", (line) => lines.push(line)), lines };
}

describe("the usage recorder with rows Postgres refuses", () => {
  it("writes every other row, sets the poison ones aside after 3 tries and counts them", async () => {
    const { logger, lines } = capturedLogger();
    // The timer never fires in this test: each flush is one try.
    const usage = createUsageRecorder({ sql: database.db.write, logger, flushIntervalMs: 3_600_000, flushEvents: 1_000 });
    usage.record(row("a"));
    usage.record(row("b-past-int4", { totalTokens: 3_000_000_000 }));
    usage.record(row("c"));
    usage.record(row("d-no-uuid", { tenantId: "not-a-uuid" }));
    usage.record(row("e"));

    await usage.flush();
    // The good rows are in after the first try, the poison rows are not holding them up.
    expect(await storedRequestIds()).toEqual(["a", "c", "e"]);
    expect(usage.stats()).toEqual({ queued: 2, dropped: 0, setAside: 0 });

    usage.record(row("f"));
    await usage.flush();
    expect(await storedRequestIds()).toEqual(["a", "c", "e", "f"]);
    expect(usage.stats()).toMatchObject({ queued: 2, setAside: 0 });

    await usage.flush();
    expect(usage.stats()).toEqual({ queued: 0, dropped: 0, setAside: 2 });
    const setAside = lines
      .map((line) => JSON.parse(line) as { msg: string; requestId?: string })
      .filter((line) => line.msg === "usage row set aside: Postgres refuses it");
    expect(setAside.map((line) => line.requestId).sort()).toEqual(["b-past-int4", "d-no-uuid"]);

    // Recording goes on as before.
    usage.record(row("g"));
    await usage.close();
    expect(await storedRequestIds()).toEqual(["a", "c", "e", "f", "g"]);
  });

  it("keeps rows, setting none aside, while Postgres cannot be reached", async () => {
    // Nothing listens on port 1: every write fails to connect.
    const unreachable = postgres("postgres://postgres@127.0.0.1:1/none", { max: 1, connect_timeout: 2, onnotice: () => {} });
    const usage = createUsageRecorder({ sql: unreachable, logger: createLogger("silent"), flushIntervalMs: 3_600_000, flushEvents: 1_000 });
    try {
      usage.record(row("kept-1"));
      usage.record(row("kept-2"));
      for (let i = 0; i < 4; i++) await usage.flush();
      expect(usage.stats()).toEqual({ queued: 2, dropped: 0, setAside: 0 });
    } finally {
      await unreachable.end({ timeout: 0 });
    }
  });
});
