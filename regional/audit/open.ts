import { join } from "node:path";
import type { Sql } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import { openJournal } from "./journal.ts";
import { createAuditWriter, type AuditLog } from "./writer.ts";

export interface OpenAuditLogOptions {
  sql: Sql;
  region: string;
  /** The journal lives in `<dataDir>/audit/`. */
  dataDir: string;
  logger: Logger;
  checkpointSecret: Buffer;
  flushIntervalMs: number;
  flushEvents: number;
  checkpointIntervalMs: number;
  writeTimeoutMs?: number;
  retryAfterMs?: number;
}

/**
 * Opens the region's journal, starts the writer and replays whatever a previous run left in
 * the journal. A replay that fails (Postgres gone again) is retried by the writer later.
 */
export async function openAuditLog(options: OpenAuditLogOptions): Promise<AuditLog> {
  const journal = await openJournal(join(options.dataDir, "audit"), options.region, options.logger);
  const audit = createAuditWriter({ ...options, journal });
  if (journal.hasPending() && !(await audit.recover())) {
    options.logger.warn("audit journal not replayed yet: Postgres is unreachable; retrying in the background", { journal: journal.path });
  }
  return audit;
}
