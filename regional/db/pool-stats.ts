import type postgres from "postgres";

/**
 * A pool's state from postgres.js' own queues (`sql.poolStats()`, added by
 * scripts/patch-postgres.ts): queries waiting for a connection, and the connections by what
 * they do. postgres.js pipelines, so a busy connection may carry several queries; a query
 * waits only when every connection is full or still connecting.
 */
export interface PoolStats {
  waiting: number;
  busy: number;
  idle: number;
  connecting: number;
  /** Held by `reserve()` (migrations, the audit writer's lock). */
  reserved: number;
  /** The pool's size. */
  max: number;
}

/** A node's pool: `primary`, `replica-1`, ... (its place in DATABASE_REPLICA_URLS, never its host). */
export type NodePool = PoolStats & { node: string };

/** The pool's stats, or undefined when the driver has not been patched to tell them (another postgres.js version). */
function poolStatsOf(sql: postgres.Sql): PoolStats | undefined {
  const read = (sql as unknown as { poolStats?: () => PoolStats }).poolStats;
  return typeof read === "function" ? read() : undefined;
}

/** Each named pool's stats, leaving out those the driver cannot tell. */
export function nodePools(pools: ReadonlyArray<readonly [node: string, sql: postgres.Sql]>): NodePool[] {
  return pools.flatMap(([node, sql]) => {
    const stats = poolStatsOf(sql);
    return stats ? [{ node, ...stats }] : [];
  });
}
