import postgres from "postgres";
import { isConnectionError } from "./connection-errors.ts";
import { parseLsn, type Lsn } from "./lsn.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import { retryRefusedLogins, type PasswordSource } from "./password.ts";
import { tracedSql, type QuerySpans } from "./query-spans.ts";

export interface PoolOptions {
  max: number;
  connectTimeoutMs: number;
  /** 0 keeps idle connections open. */
  idleTimeoutMs: number;
  /** Connections are replaced after this long; unset, postgres.js' 30 to 60 minutes. */
  maxLifetimeMs?: number;
  /** A password that may be rotated while the service runs; unset, the URL's. */
  password?: PasswordSource;
}

/**
 * Seconds before a pool connection tries again after its server went away. postgres.js
 * grows its default as 3^n/100 s, counted over the whole pool and capped at 20 s, so after
 * a short primary outage under load the pool kept failing for up to 20 s once the server
 * was back; this one stays at or below 1 s (with jitter).
 */
export function reconnectBackoff(attempt: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** attempt, 1);
}

/** `spans`: a span per query (tracing on); unset, the pool is postgres.js' own, untouched. */
export function openPool(url: string, options: PoolOptions & { onclose?: () => void; spans?: QuerySpans }): postgres.Sql {
  const source = options.password;
  let given: string | undefined;
  const sql = postgres(url, {
    max: options.max,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutMs / 1000,
    ...(options.idleTimeoutMs > 0 ? { idle_timeout: options.idleTimeoutMs / 1000 } : {}),
    ...(options.maxLifetimeMs !== undefined ? { max_lifetime: options.maxLifetimeMs / 1000 } : {}),
    backoff: reconnectBackoff,
    ...(options.onclose ? { onclose: options.onclose } : {}),
    // Asked at every login, so a rotated password needs no restart.
    ...(source ? { password: async () => (given = await source.get()) } : {}),
  });
  // Traced inside the login retries: a query run again after a refused login stays one span.
  const traced = options.spans ? tracedSql(sql, options.spans) : sql;
  return source ? retryRefusedLogins(traced, source, () => given) : traced;
}

/** What one look at a node found: its WAL position (current on a primary, replayed on a replica). */
export type Probe = { up: true; lsn: Lsn } | { up: false; error: string; connection: boolean };

/** Rejection of a probe that took too long (the query is dropped with its connection). */
const probeTimedOut = new Error("probe timed out");

/**
 * Asks a node for its WAL position over a connection of its own, so the answer never
 * queues behind reads. A node that does not answer within `timeoutMs` counts as down and
 * its connection is replaced, so a hung server cannot hold every later probe.
 */
export function createProber(
  url: string,
  options: { connectTimeoutMs: number; timeoutMs: number; onclose: () => void; password?: PasswordSource },
) {
  let monitor: postgres.Sql | null = null;
  const connectTimeoutMs = Math.min(options.connectTimeoutMs, options.timeoutMs);
  const open = () =>
    (monitor ??= openPool(url, {
      max: 1,
      connectTimeoutMs,
      idleTimeoutMs: 0,
      onclose: options.onclose,
      ...(options.password && { password: options.password }),
    }));

  async function probe(): Promise<Probe> {
    const sql = open();
    // Not in recovery (a replica URL that names a primary, or a promoted replica): its current position counts.
    const query = sql<{ lsn: string | null }[]>`
      select (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as lsn`;
    try {
      const answer = await withTimeout(query, options.timeoutMs, () => probeTimedOut);
      // Null while a replica starts and has replayed nothing yet: behind everything.
      return { up: true, lsn: answer[0]?.lsn ? parseLsn(answer[0].lsn) : 0n };
    } catch (error) {
      if (error === probeTimedOut) {
        query.catch(() => {});
        monitor = null;
        void sql.end({ timeout: 0 }).catch(() => {});
        return { up: false, error: `no answer within ${options.timeoutMs} ms`, connection: true };
      }
      return { up: false, error: error instanceof Error ? error.message : String(error), connection: isConnectionError(error) };
    }
  }

  return {
    probe,
    async close() {
      await monitor?.end({ timeout: 0 });
      monitor = null;
    },
  };
}

export type Prober = ReturnType<typeof createProber>;
