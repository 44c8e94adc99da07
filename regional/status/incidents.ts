import type { IncidentKind, IncidentTier } from "../../shared/status/types.ts";
import { createBestEffortBatcher, type BatcherStats } from "../batching/batcher.ts";
import type { Sql } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { OnTransition } from "../resilience/breakers.ts";

export interface Incident {
  at: Date;
  tier: IncidentTier;
  kind: IncidentKind;
  /** A provider, `provider/model` or origin name. */
  subject: string;
  detail: Record<string, string | number | boolean | null>;
  region: string | null;
}

export interface Incidents {
  /** Queues an incident; never waits. */
  record(incident: Incident): void;
  /** For the breaker registry: openings and closings become incidents of this region. */
  onTransition: OnTransition;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): BatcherStats;
}

export interface IncidentsOptions {
  sql: Sql;
  logger: Logger;
  region: string;
  now?: () => number;
  flushIntervalMs?: number;
}

/**
 * The incident history, written in batches off the request path (a breaker opens inside a
 * call). Best-effort: while Postgres is away incidents wait in memory, and past 10,000 the
 * oldest go — a status page may miss an old flap, a request must never wait for it.
 */
export function createIncidents(options: IncidentsOptions): Incidents {
  const { sql, logger, region } = options;
  const now = options.now ?? Date.now;
  const batcher = createBestEffortBatcher<Incident>({
    flushEvents: 50,
    flushIntervalMs: options.flushIntervalMs ?? 1_000,
    maxBatch: 500,
    maxQueued: 10_000,
    async write(batch) {
      await sql`
        insert into incidents (at, tier, kind, subject, detail, region)
        select * from unnest(
          ${batch.map((i) => i.at.toISOString())}::timestamptz[], ${batch.map((i) => i.tier)}::text[], ${batch.map((i) => i.kind)}::text[],
          ${batch.map((i) => i.subject)}::text[], ${batch.map((i) => JSON.stringify(i.detail))}::text[]::jsonb[], ${batch.map((i) => i.region)}::text[])`;
      return undefined;
    },
    onDropped: (dropped) => {
      if (dropped % 1_000 === 1) logger.warn("incidents dropped: Postgres is not taking them", { dropped });
    },
    onHeld: (queued, error) => logger.warn("incidents not written yet", { queued, error }),
  });

  return {
    record: (incident) => batcher.add(incident),
    onTransition(id, { from, to, reason }) {
      // Half-open is the breaker probing, not news: the page shows openings and recoveries.
      if (to === "half_open") return;
      const kind: IncidentKind = to === "open" ? "breaker_opened" : "breaker_closed";
      batcher.add({ at: new Date(now()), tier: "regional", kind, subject: id, detail: { from, reason }, region });
    },
    flush: batcher.flush,
    close: batcher.close,
    stats: batcher.stats,
  };
}
