import type { Sql } from "../db/index.ts";
import { isConnectionError } from "../db/connection-errors.ts";
import type { Logger } from "../logger.ts";
import { createBestEffortBatcher, type BestEffortResult } from "../batching/batcher.ts";
import { formatMoney, type Money } from "../pricing/money.ts";

/** One inference request, as billed and summarised per tenant. */
export interface UsageEvent {
  tenantId: string;
  keyId: string | null;
  requestId: string | null;
  /** The endpoint: `usage.kind` is plain text, so a new one needs no migration. */
  kind: "chat" | "embeddings" | "responses" | "completions" | "images" | "transcription" | "speech" | "moderation";
  provider: string | null;
  model: string | null;
  status: number;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  /** USD, from the serving provider's prices; null when not known. */
  costUsd: Money | null;
  latencyMs: number;
  at: Date;
}

export interface UsageRecorder {
  /** Queues a usage row; never waits. */
  record(event: UsageEvent): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Rows waiting, dropped for want of room, and set aside as unwritable since start. */
  stats(): UsageRecorderStats;
}

export interface UsageRecorderStats {
  /** Rows not written yet: waiting, being written, or refused once and tried again at the next flush. */
  queued: number;
  /** Dropped because Postgres was away longer than `maxQueued` rows. */
  dropped: number;
  /** Refused by Postgres `maxTries` times (a value it cannot store): logged and left out. */
  setAside: number;
}

export interface UsageRecorderOptions {
  sql: Sql;
  logger: Logger;
  flushIntervalMs: number;
  flushEvents: number;
  /** Rows kept while Postgres is away; beyond it the oldest are dropped (and counted in the log). */
  maxQueued?: number;
  /** Times Postgres may refuse a row (not for being unreachable) before it is set aside. */
  maxTries?: number;
}

interface Queued {
  event: UsageEvent;
  /** Times Postgres refused this row for what it holds. */
  refusals: number;
}

/**
 * Postgres refused the row for what it holds (SQLSTATE class 22, data exception, or 23,
 * integrity constraint): it will refuse it again. Anything else (unreachable, timeouts,
 * locks) says nothing about the row.
 */
function refusedForContent(error: unknown): boolean {
  if (isConnectionError(error)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}

const int = (value: number | null): string | null => (value === null || !Number.isFinite(value) ? null : String(Math.round(value)));

/**
 * Usage rows written in batches off the request path. Unlike the audit log this is
 * best-effort: rows wait in memory while Postgres is away, up to `maxQueued`. A batch
 * Postgres refuses for its content (not for being away) is written row by row, so one row
 * it can never store (a token count past int4, an id that is no uuid) holds up no other:
 * after `maxTries` refusals that row is logged, counted and set aside.
 */
export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { sql, logger } = options;
  const maxTries = options.maxTries ?? 3;
  let setAside = 0;

  async function insert(batch: UsageEvent[]): Promise<void> {
    await sql`
      insert into usage (tenant_id, key_id, request_id, kind, provider, model, status, prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms, created_at)
      select * from unnest(
        ${batch.map((u) => u.tenantId)}::uuid[], ${batch.map((u) => u.keyId)}::uuid[], ${batch.map((u) => u.requestId)}::text[],
        ${batch.map((u) => u.kind)}::text[], ${batch.map((u) => u.provider)}::text[], ${batch.map((u) => u.model)}::text[],
        ${batch.map((u) => String(u.status))}::int[], ${batch.map((u) => int(u.promptTokens))}::int[],
        ${batch.map((u) => int(u.completionTokens))}::int[], ${batch.map((u) => int(u.totalTokens))}::int[],
        ${batch.map((u) => (u.costUsd ? formatMoney(u.costUsd) : null))}::numeric[],
        ${batch.map((u) => int(u.latencyMs) ?? "0")}::int[], ${batch.map((u) => u.at.toISOString())}::timestamptz[])`;
  }

  /**
   * Writes the batch one row at a time. A row refused for its content is tried again at the
   * next flush, or set aside after `maxTries` refusals. When Postgres goes away, what is left
   * of the batch is held.
   */
  async function oneByOne(batch: Queued[]): Promise<BestEffortResult<Queued>> {
    const refused: Queued[] = [];
    for (const [i, item] of batch.entries()) {
      try {
        await insert([item.event]);
      } catch (error) {
        if (!refusedForContent(error)) return { retryLater: refused, held: { items: batch.slice(i), error } };
        item.refusals += 1;
        if (item.refusals < maxTries) {
          refused.push(item);
          continue;
        }
        setAside += 1;
        const { event } = item;
        logger.error("usage row set aside: Postgres refuses it", {
          setAside,
          tries: item.refusals,
          tenantId: event.tenantId,
          requestId: event.requestId,
          error,
        });
      }
    }
    return { retryLater: refused };
  }

  const batcher = createBestEffortBatcher<Queued>({
    flushEvents: options.flushEvents,
    flushIntervalMs: options.flushIntervalMs,
    maxBatch: 1_000,
    maxQueued: options.maxQueued ?? 100_000,
    async write(batch) {
      try {
        await insert(batch.map((item) => item.event));
        return undefined;
      } catch (error) {
        // Unreachable, timed out, locked: the whole batch waits for the next flush.
        if (!refusedForContent(error)) throw error;
        return await oneByOne(batch);
      }
    },
    onDropped: (dropped) => {
      if (dropped % 1_000 === 1) logger.warn("usage rows dropped: Postgres is not taking them", { dropped });
    },
    onHeld: (queued, error) => logger.warn("usage rows not written yet", { queued, error }),
  });

  return {
    record: (event) => batcher.add({ event, refusals: 0 }),
    flush: batcher.flush,
    close: batcher.close,
    stats() {
      const { queued, dropped } = batcher.stats();
      return { queued, dropped, setAside };
    },
  };
}
