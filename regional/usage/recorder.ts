import type { Sql } from "../db/index.ts";
import type { Logger } from "../logger.ts";

/** One inference request, as billed and summarised per tenant. */
export interface UsageEvent {
  tenantId: string;
  keyId: string | null;
  requestId: string | null;
  kind: "chat" | "embeddings";
  provider: string | null;
  model: string | null;
  status: number;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  latencyMs: number;
  at: Date;
}

export interface UsageRecorder {
  /** Queues a usage row; never waits. */
  record(event: UsageEvent): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface UsageRecorderOptions {
  sql: Sql;
  logger: Logger;
  flushIntervalMs: number;
  flushEvents: number;
  /** Rows kept while Postgres is away; beyond it the oldest are dropped (and counted in the log). */
  maxQueued?: number;
}

const int = (value: number | null): string | null => (value === null || !Number.isFinite(value) ? null : String(Math.round(value)));

/**
 * Usage rows written in batches off the request path. Unlike the audit log this is
 * best-effort: rows wait in memory while Postgres is away, up to `maxQueued`.
 */
export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { sql, logger } = options;
  const maxQueued = options.maxQueued ?? 100_000;
  let queue: UsageEvent[] = [];
  let writing: Promise<void> | null = null;
  let dropped = 0;
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  async function write(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, 1_000);
      try {
        await sql`
          insert into usage (tenant_id, key_id, request_id, kind, provider, model, status, prompt_tokens, completion_tokens, total_tokens, latency_ms, created_at)
          select * from unnest(
            ${batch.map((u) => u.tenantId)}::uuid[], ${batch.map((u) => u.keyId)}::uuid[], ${batch.map((u) => u.requestId)}::text[],
            ${batch.map((u) => u.kind)}::text[], ${batch.map((u) => u.provider)}::text[], ${batch.map((u) => u.model)}::text[],
            ${batch.map((u) => String(u.status))}::int[], ${batch.map((u) => int(u.promptTokens))}::int[],
            ${batch.map((u) => int(u.completionTokens))}::int[], ${batch.map((u) => int(u.totalTokens))}::int[],
            ${batch.map((u) => int(u.latencyMs) ?? "0")}::int[], ${batch.map((u) => u.at.toISOString())}::timestamptz[])`;
        queue = queue.slice(batch.length);
      } catch (error) {
        logger.warn("usage rows not written yet", { queued: queue.length, error });
        return;
      }
    }
  }

  function flush(): Promise<void> {
    writing ??= write().finally(() => {
      writing = null;
    });
    return writing;
  }

  return {
    record(event) {
      queue.push(event);
      if (queue.length > maxQueued) {
        queue.shift();
        if (dropped++ % 1_000 === 0) logger.warn("usage rows dropped: Postgres is not taking them", { dropped });
      }
      if (queue.length >= options.flushEvents && !writing) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
