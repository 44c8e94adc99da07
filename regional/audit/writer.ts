import type { Sql, TransactionSql } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import { checkpointHead, insertChained, insertChainedIn } from "./chain-store.ts";
import { toRecord, type AuditInput, type AuditRecord, type RawEvent } from "./event.ts";
import type { Journal } from "./journal.ts";
import { uuidv7 } from "./uuidv7.ts";
import { createDurableBatcher } from "../batching/batcher.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";

/** The audit log as the rest of the service sees it. */
export interface AuditLog {
  readonly region: string;
  /** Queues an event and returns its id at once: the request path never waits for the log. */
  append(input: AuditInput): string;
  /**
   * Queues an event and resolves with its id once it is durable: committed in Postgres, or
   * fsynced to the local journal when Postgres cannot take it. Admin actions answer after this.
   */
  appendDurable(input: AuditInput): Promise<string>;
  /**
   * Chains the event inside `tx`, the transaction of the change it records: both commit or
   * neither does. Resolves with its id; the event counts only once `tx` has committed.
   */
  appendIn(tx: TransactionSql, input: AuditInput): Promise<string>;
  /** Writes everything queued so far (to Postgres, else to the journal). */
  flush(): Promise<void>;
  /** Moves journaled events into Postgres; false when Postgres is still unreachable. */
  recover(): Promise<boolean>;
  /** The backlog and the journal, for `/health/detailed` and metrics. */
  stats(): AuditStats;
  /** Flushes, signs a last checkpoint when Postgres is there, and stops the timer. */
  close(): Promise<void>;
}

export interface AuditWriterOptions {
  sql: Sql;
  region: string;
  journal: Journal;
  logger: Logger;
  checkpointSecret: Buffer;
  /** A queue older than this is flushed even when small. */
  flushIntervalMs: number;
  /** A queue this long is flushed at once. */
  flushEvents: number;
  /** Most events per transaction when a backlog has built up. */
  maxBatch?: number;
  checkpointIntervalMs: number;
  /** A Postgres write slower than this counts as failed; its events go to the journal. */
  writeTimeoutMs?: number;
  /** After a failed write, events go straight to the journal for this long before Postgres is tried again. */
  retryAfterMs?: number;
  now?: () => number;
}

/** An event on its way to the chain; its record is built once, when it is first written. */
interface Pending {
  raw: RawEvent;
  record?: AuditRecord;
}

/** What operators watch of the audit writer (`/health/detailed`, metrics). */
export interface AuditStats {
  /** Events taken and not yet in Postgres nor the journal: the in-memory backlog. */
  queued: number;
  /** Events in the local journal, durable but not yet in Postgres. */
  journaled: number;
  /** Size of the local journal in bytes. */
  journalBytes: number;
  /** When events were last committed to Postgres (a batch or a journal replay), in ms since the epoch; null before the first. */
  lastFlushAt: number | null;
  /** True while Postgres is believed unreachable: batches go to the journal until a probe finds it back. */
  failing: boolean;
}

/**
 * Buffers events and writes them in batches through the region's single chain writer
 * (chain-store). A batch Postgres cannot take is fsynced to the journal instead; the journal
 * is replayed into Postgres before anything newer, when Postgres answers again.
 */
export function createAuditWriter(options: AuditWriterOptions): AuditLog {
  const { sql, region, journal, logger } = options;
  const now = options.now ?? Date.now;
  const maxBatch = options.maxBatch ?? 2_000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 3_000;
  const retryAfterMs = options.retryAfterMs ?? 500;

  // While Postgres is believed down, batches go straight to the journal and a probe, not the
  // flush, finds out when it is back: a write attempt against a dead server can take the
  // whole write timeout, and acknowledgements must not wait for that.
  let postgresUp = true;
  let probe: NodeJS.Timeout | undefined;
  let lastCheckpointAt = now();
  let lastFlushAt: number | null = null;
  let closed = false;
  const recordOf = (item: Pending): AuditRecord => (item.record ??= toRecord(item.raw, region));

  const batcher = createDurableBatcher<Pending>({
    flushEvents: options.flushEvents,
    flushIntervalMs: options.flushIntervalMs,
    maxBatch,
    retryAfterMs,
    sink: {
      // Journaled events go in first, so the chain keeps roughly the order things happened.
      primaryOpen: () => postgresUp && !journal.hasPending(),
      primary: async (batch) => await toPostgres(batch.map(recordOf)),
      primaryFailed: markDown,
      fallback: async (batch) => await journal.append(batch.map(recordOf)),
      unwritten: (batch, error) =>
        logger.error("audit events could not be written to Postgres nor the journal; kept in memory", {
          region,
          events: batch.length,
          error,
        }),
      catchUp: { due: () => journal.hasPending() && postgresUp, run: replay },
    },
  });

  async function toPostgres(records: AuditRecord[]): Promise<void> {
    const checkpointDue = now() - lastCheckpointAt >= options.checkpointIntervalMs;
    const checkpoint = checkpointDue ? { secret: options.checkpointSecret, now: now() } : undefined;
    // A timed-out transaction may still commit later; the journaled copy is then skipped by event id.
    await withTimeout(
      insertChained(sql, region, records, checkpoint),
      writeTimeoutMs,
      () => new Error(`audit write took longer than ${writeTimeoutMs} ms`),
    );
    if (checkpoint) lastCheckpointAt = checkpoint.now;
    lastFlushAt = now();
  }

  function markDown(error: unknown): void {
    if (postgresUp) logger.warn("audit log cannot reach Postgres; journaling events locally", { region, journal: journal.path, error });
    postgresUp = false;
    scheduleProbe();
  }

  function scheduleProbe(): void {
    if (probe || closed) return;
    probe = setTimeout(async () => {
      try {
        await withTimeout(sql`select 1`, writeTimeoutMs, () => new Error(`audit write took longer than ${writeTimeoutMs} ms`));
        postgresUp = true;
        logger.info("audit log reaches Postgres again; replaying the journal", { region });
        void batcher.flush();
        probe = undefined;
      } catch {
        probe = undefined;
        scheduleProbe();
      }
    }, retryAfterMs);
    probe.unref();
  }

  async function replay(): Promise<void> {
    try {
      let replayed = 0;
      for await (const records of journal.read(maxBatch)) {
        await toPostgres(records);
        replayed += records.length;
      }
      // Crashing right here replays again on the next start; event ids make that harmless.
      await journal.clear();
      logger.info("audit journal replayed into Postgres", { region, events: replayed });
    } catch (error) {
      markDown(error);
    }
  }

  function raw(input: AuditInput): RawEvent {
    const at = now();
    return { eventId: uuidv7(at), occurredAtMs: at, input };
  }

  return {
    region,
    append(input) {
      const event = raw(input);
      batcher.add({ raw: event });
      return event.eventId;
    },
    async appendDurable(input) {
      if (closed) throw new Error("the audit log is closed");
      const event = raw(input);
      await batcher.addDurable({ raw: event });
      return event.eventId;
    },
    async appendIn(tx, input) {
      const event = raw(input);
      await insertChainedIn(tx, region, [toRecord(event, region)]);
      return event.eventId;
    },
    flush: batcher.flush,
    async recover() {
      // Through the flush chain, so a replay never runs beside a batch write.
      await batcher.flush();
      postgresUp = true;
      await batcher.flush();
      return !journal.hasPending();
    },
    stats() {
      const stored = journal.stats();
      return { queued: batcher.stats().queued, journaled: stored.events, journalBytes: stored.bytes, lastFlushAt, failing: !postgresUp };
    },
    async close() {
      closed = true;
      clearTimeout(probe);
      await batcher.close();
      if (!journal.hasPending() && postgresUp) {
        await checkpointHead(sql, region, options.checkpointSecret, now()).catch((error: unknown) =>
          logger.warn("audit: last checkpoint not written", { region, error }),
        );
      }
      await journal.close();
    },
  };
}
