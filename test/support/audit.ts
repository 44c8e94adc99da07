import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "../../regional/db/index.ts";
import { migrate } from "../../regional/db/migrate.ts";
import { createLogger } from "../../regional/logger.ts";
import { checkpointSecret } from "../../regional/audit/checkpoint-secret.ts";
import { openJournal, type Journal } from "../../regional/audit/journal.ts";
import { createAuditWriter, type AuditLog, type AuditWriterOptions } from "../../regional/audit/writer.ts";
import type { AuditInput } from "../../regional/audit/event.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/** AUDIT_CHECKPOINT_SECRET of the tests, and the key the service derives from it. */
export const testCheckpointSecretText = "test-audit-checkpoint-secret-0123456789";
export const testCheckpointSecret = checkpointSecret(testCheckpointSecretText, false).key;
export const silentLogger = createLogger("silent");

export interface AuditDb {
  db: Db;
  url: string;
  close(): Promise<void>;
}

/** A migrated database of its own on `serverUrl`. */
export async function createAuditDb(serverUrl: string): Promise<AuditDb> {
  const database: TestDatabase = await createTestDatabase(serverUrl);
  const db = await openDb({ databaseUrl: database.url, dataDir: "", poolSize: 6 });
  await migrate(db.write);
  return {
    db,
    url: database.url,
    async close() {
      await db.close();
      await database.drop();
    },
  };
}

export interface TestWriter {
  audit: AuditLog;
  journal: Journal;
  dir: string;
  close(): Promise<void>;
}

/** An audit writer with its journal in a fresh temp dir; options override the defaults. */
export async function createTestWriter(db: Db, options: Partial<AuditWriterOptions> = {}, dir?: string): Promise<TestWriter> {
  const journalDir = dir ?? (await mkdtemp(join(tmpdir(), "bw-audit-")));
  const region = options.region ?? "test-region";
  const journal = options.journal ?? (await openJournal(journalDir, region, silentLogger));
  const audit = createAuditWriter({
    sql: db.write,
    region,
    journal,
    logger: silentLogger,
    checkpointSecret: testCheckpointSecret,
    flushIntervalMs: 50,
    flushEvents: 100,
    checkpointIntervalMs: 60_000,
    ...options,
  });
  return {
    audit,
    journal,
    dir: journalDir,
    async close() {
      await audit.close();
      if (!dir) await rm(journalDir, { recursive: true, force: true });
    },
  };
}

export function sampleEvent(index: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    actorType: "admin",
    actorId: "admin:test",
    action: "tenant.create",
    resource: `tenant:${index}`,
    result: "success",
    metadata: { index },
    ...overrides,
  };
}
