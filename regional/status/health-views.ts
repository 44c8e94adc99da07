import type { AuditStats } from "../audit/writer.ts";
import type { DbHealth } from "../db/index.ts";
import type { ReplicaHealth } from "../db/replicas.ts";
import type { RedisStatus } from "../redis-status.ts";
import type { SecretFreshness } from "../secrets/secrets.ts";

// What `/health/detailed` and the operator status page show of the stores, in one place so both say the same.

/** `ok`; `degraded` while the primary is down but replicas serve reads (writes answer 503); `down` when nothing serves. */
export function databaseStatus(health: DbHealth): "ok" | "degraded" | "down" {
  if (health.primary.up !== false) return "ok";
  return health.replicas.some((replica) => replica.up) ? "degraded" : "down";
}

/**
 * A replica as operators see it: by its place in DATABASE_REPLICA_URLS, never its host and
 * port, and why it takes no reads as a word (`down`, `lagging`), never a driver's error text
 * (which names hosts, users and databases). Both stay in the logs.
 */
export function replicaView(replica: ReplicaHealth, index: number) {
  return {
    name: `replica-${index + 1}`,
    up: replica.up,
    replay_lsn: replica.lsn,
    lag_ms: replica.lagMs,
    lag_bytes: replica.lagBytes,
    in_rotation: replica.inRotation,
    reason: replica.reason,
    checked_at: replica.checkedAt,
  };
}

export const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The audit writer: its in-memory backlog, the local journal, and whether batches go to the journal now. */
export function auditView(stats: AuditStats) {
  return {
    queued: stats.queued,
    journaled: stats.journaled,
    journal_bytes: stats.journalBytes,
    last_flush_at: isoTime(stats.lastFlushAt),
    failing: stats.failing,
  };
}

/** Each Redis client by its use, never its URL or host: `down` when any is not connected. */
export function redisView(clients: Record<string, RedisStatus | null>) {
  const known = Object.entries(clients).filter((client): client is [string, RedisStatus] => client[1] !== null);
  const errors = known.map(([, status]) => status.lastErrorAt).filter((at) => at !== null);
  return {
    status: known.every(([, status]) => status.up) ? ("up" as const) : ("down" as const),
    last_error_at: isoTime(errors.length > 0 ? Math.max(...errors) : null),
    clients: Object.fromEntries(known.map(([name, status]) => [name, { up: status.up, last_error_at: isoTime(status.lastErrorAt) }])),
  };
}

/** A secret by its reference as configured (a name, never the value) and when it was last read. */
export function secretView(secret: SecretFreshness) {
  return {
    reference: secret.reference,
    stage: secret.stage,
    used_by: secret.usedBy,
    last_read_at: isoTime(secret.lastReadAt),
    last_refresh_failed: secret.lastRefreshFailed,
  };
}
