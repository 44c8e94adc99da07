import type { Tracer } from "@opentelemetry/api";
import type postgres from "postgres";
import type { Config } from "../config.ts";
import { createLogger, type Logger } from "../logger.ts";
import type { RedisStatus } from "../redis-status.ts";
import { databaseUnavailable } from "./connection-errors.ts";
import { parseLsn, type Lsn } from "./lsn.ts";
import { noReads, type ReadCounts } from "./read-counts.ts";
import { openPool, type PoolOptions } from "./node.ts";
import { nodePools, type NodePool } from "./pool-stats.ts";
import { fixedPassword, type PasswordSource } from "./password.ts";
import { createReplicaSet, type NodeHealth, type ReplicaHealth, type ReplicaSet } from "./replicas.ts";
import { openTenantLsns, type TenantLsns } from "./tenant-lsns.ts";

export { reconnectBackoff } from "./node.ts";
export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/**
 * The only way code reaches Postgres. `write` is the primary. A tenant's writes that it
 * must be able to read back go through `transaction(tenantId, fn)`, which remembers the
 * commit for that tenant; `read(tenantId)` then picks a node that has replayed it.
 */
export interface Db {
  write: Sql;
  /** Runs `fn` in a transaction on the primary; once committed, `tenantId`'s reads see it. */
  transaction<T>(tenantId: string, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /** The node `tenantId`'s reads may use now; without a tenant, any healthy node. */
  read(tenantId?: string): Promise<Sql>;
  /**
   * From now on every read, with a tenant or without, uses only nodes that have replayed what
   * the primary holds now. Called after migrations, so no read meets a replica without the
   * tables this start created.
   */
  barrier(): Promise<void>;
  /** True when the data lives in embedded PGlite rather than a Postgres server. */
  embedded: boolean;
  /** What the last checks found: primary up or down, each replica's position, lag and rotation. */
  health(): DbHealth;
  /** Checks every node now rather than at the next tick. */
  checkHealth(): Promise<DbHealth>;
  /** The Redis that shares tenants' commit positions, for `/health/detailed`; null without one. */
  redis(): RedisStatus | null;
  /** Reads handed out since start, by why they went where they did (read-your-writes included). */
  readCounts(): ReadCounts;
  /** Each node's connection pool now: queries waiting, connections busy and idle. */
  pools(): NodePool[];
  close(timeoutS?: number): Promise<void>;
}

export interface DbHealth {
  mode: "embedded" | "postgres";
  primary: NodeHealth;
  replicas: ReplicaHealth[];
  /** Where reads without a tenant go now. */
  reads: "replicas" | "primary";
}

export interface DbOptions {
  databaseUrl?: string;
  dataDir: string;
  /** Connections to the primary. */
  poolSize?: number;
  replicaUrls?: string[];
  /** Connections to each replica. */
  replicaPoolSize?: number;
  connectTimeoutMs?: number;
  /** Idle pool connections close after this; 0 keeps them. */
  idleTimeoutMs?: number;
  /** Connections are replaced after this long; unset, postgres.js' 30 to 60 minutes. */
  maxLifetimeMs?: number;
  /** For the primary and every replica (one role on all of them), read at each login: it may rotate. Unset, the URLs'. */
  password?: PasswordSource;
  maxReplicaLagMs?: number;
  healthCheckIntervalMs?: number;
  healthCheckTimeoutMs?: number;
  /** Shares tenants' commit positions between regional instances. */
  redisUrl?: string;
  /** How long a tenant's commit position is remembered (at least the lag bound plus two checks). */
  readYourWritesTtlMs?: number;
  logger?: Logger;
  /** The clock replica lag is measured with. */
  now?: () => number;
  /** A span per query (node `primary`, `replica-N`); unset, queries are not traced and cost nothing more. */
  tracer?: Tracer;
}

export const dbDefaults = {
  poolSize: 10,
  replicaPoolSize: 10,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxReplicaLagMs: 2_000,
  healthCheckIntervalMs: 500,
  healthCheckTimeoutMs: 1_000,
  readYourWritesTtlMs: 60_000,
} as const;

/** Past any position a replica can reach: the tenant's reads need the primary. */
const primaryOnly: Lsn = 0xffff_ffff_ffff_ffffn;

export async function openDb(options: DbOptions): Promise<Db> {
  if (!options.databaseUrl) return await openEmbedded(options.dataDir, options.tracer);
  const logger = options.logger ?? createLogger("silent");
  const settings = { ...dbDefaults, ...definedOnly(options) };
  const pool = (max: number): PoolOptions => ({
    max,
    connectTimeoutMs: settings.connectTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    ...(options.maxLifetimeMs !== undefined && { maxLifetimeMs: options.maxLifetimeMs }),
    ...(options.password && { password: options.password }),
  });
  const nodes = createReplicaSet({
    primaryUrl: options.databaseUrl,
    replicaUrls: options.replicaUrls ?? [],
    primaryPool: pool(settings.poolSize),
    replicaPool: pool(settings.replicaPoolSize),
    maxLagMs: settings.maxReplicaLagMs,
    checkIntervalMs: settings.healthCheckIntervalMs,
    checkTimeoutMs: settings.healthCheckTimeoutMs,
    now: options.now ?? Date.now,
    logger,
    tracer: options.tracer,
  });
  // A position older than the lag bound (plus a check either side) is on every replica in rotation.
  const ttlMs = Math.max(settings.readYourWritesTtlMs, settings.maxReplicaLagMs + 2 * settings.healthCheckIntervalMs);
  const tenantLsns = await openTenantLsns({ ttlMs, redisUrl: options.redisUrl, logger, now: options.now });
  await nodes.check();
  // Clients may try again once the next check could have seen the primary back; a few seconds at most.
  const retryAfterS = Math.min(5, Math.max(1, Math.ceil(settings.healthCheckIntervalMs / 1000)));
  return replicatedDb(nodes, tenantLsns, logger, retryAfterS);
}

function replicatedDb(nodes: ReplicaSet, tenantLsns: TenantLsns, logger: Logger, retryAfterS: number): Db {
  const { write } = nodes;
  const primaryDown = () =>
    databaseUnavailable({ message: "The primary database is down; writes are refused until it is back.", retryAfterS });
  let lastRedisWarning = 0;
  /** What every read needs, set by `barrier()`. */
  let floor: Lsn | null = null;
  const counts = noReads();

  /**
   * The insert position once COMMIT returned is at or past the end of the commit record, also
   * under synchronous_commit=off (where pg_current_wal_lsn(), the write position, may still be
   * before it). It may include others' later WAL: that only asks a replica for a little more.
   * When it cannot be learnt (the primary went away just after the commit), the tenant reads
   * from the primary until the position expires: the write did commit, so it must not fail.
   */
  async function insertLsn(): Promise<Lsn> {
    const [row] = await write<{ lsn: string }[]>`select pg_current_wal_insert_lsn()::text as lsn`;
    if (!row) throw new Error("pg_current_wal_insert_lsn() returned no row");
    return parseLsn(row.lsn);
  }

  async function commitLsn(): Promise<Lsn> {
    try {
      return await insertLsn();
    } catch (error) {
      logger.warn("commit position unknown; the tenant reads from the primary for a while", { error });
      return primaryOnly;
    }
  }

  const health = (): DbHealth => {
    const { primary, replicas } = nodes.health();
    return { mode: "postgres", primary, replicas, reads: replicas.some((replica) => replica.inRotation) ? "replicas" : "primary" };
  };

  /** No replica in rotation has what the read needs: the primary, or while it is down the replica furthest along. */
  const fallback = (required: Lsn | null): Sql => {
    if (!nodes.primaryDown()) return write;
    const replica = nodes.anyUp(required);
    if (replica) return replica;
    throw primaryDown();
  };

  return {
    write,
    async transaction(tenantId, fn) {
      if (nodes.primaryDown()) throw primaryDown();
      const result = (await write.begin(fn)) as Awaited<ReturnType<typeof fn>>;
      await tenantLsns.remember(tenantId, await commitLsn());
      return result;
    },

    async barrier() {
      // Unlike a tenant's position, the floor never expires: a failure here must not pin every read to the primary.
      floor = await insertLsn();
    },

    async read(tenantId) {
      let required: Lsn | null = floor;
      let tenantsWrite = false;
      // The tenant's position matters only when a replica may answer.
      if (tenantId !== undefined && (nodes.inRotation() || nodes.primaryDown())) {
        try {
          const tenant = await tenantLsns.required(tenantId);
          if (tenant !== null && (required === null || tenant > required)) {
            required = tenant;
            tenantsWrite = true;
          }
        } catch (error) {
          if (Date.now() - lastRedisWarning > 10_000) {
            lastRedisWarning = Date.now();
            logger.warn("tenant commit position unknown (Redis); reading from the primary", { tenantId, error });
          }
          if (nodes.primaryDown()) throw primaryDown();
          counts.position_unknown += 1;
          return write;
        }
      }
      const replica = nodes.pick(required);
      if (replica) {
        counts.replica += 1;
        return replica;
      }
      const node = fallback(required);
      if (node !== write) counts.primary_down += 1;
      else if (tenantsWrite && nodes.inRotation()) counts.read_your_writes += 1;
      else counts.no_replica += 1;
      return node;
    },

    embedded: false,
    health,
    redis: () => tenantLsns.redis(),
    async checkHealth() {
      await nodes.check();
      return health();
    },
    readCounts: () => ({ ...counts }),
    pools: () => nodes.pools(),
    async close(timeoutS = 5) {
      await nodes.close(timeoutS);
      await tenantLsns.close();
    },
  };
}

/** PGlite serves one connection: no replicas, no health loop, every read on the one node. */
async function openEmbedded(dataDir: string, tracer: Tracer | undefined): Promise<Db> {
  // Loaded only here: PGlite costs tens of MiB that a service on a Postgres server never needs.
  const { startEmbeddedPostgres } = await import("./embedded.ts");
  const embedded = await startEmbeddedPostgres(dataDir);
  const write = openPool(embedded.url, {
    max: 1,
    connectTimeoutMs: 10_000,
    idleTimeoutMs: 0,
    ...(tracer && { spans: { tracer, node: "primary" } }),
  });
  const health = (): DbHealth => ({
    mode: "embedded",
    primary: { name: "embedded", up: true, lsn: null, checkedAt: null, error: null },
    replicas: [],
    reads: "primary",
  });
  const counts = noReads();
  return {
    write,
    async transaction(_tenantId, fn) {
      return (await write.begin(fn)) as Awaited<ReturnType<typeof fn>>;
    },
    read: async () => {
      counts.embedded += 1;
      return write;
    },
    barrier: async () => {},
    embedded: true,
    health,
    redis: () => null,
    checkHealth: async () => health(),
    readCounts: () => ({ ...counts }),
    pools: () => nodePools([["primary", write]]),
    async close(timeoutS = 5) {
      await write.end({ timeout: timeoutS });
      await embedded.stop();
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

export function dbOptionsFrom(config: Config, logger?: Logger): DbOptions {
  return {
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    replicaUrls: config.DATABASE_REPLICA_URLS,
    poolSize: config.DATABASE_POOL_SIZE,
    replicaPoolSize: config.DATABASE_REPLICA_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.DATABASE_IDLE_TIMEOUT_MS,
    maxLifetimeMs: config.DATABASE_MAX_LIFETIME_MS,
    ...(config.DATABASE_PASSWORD !== undefined && { password: fixedPassword(config.DATABASE_PASSWORD) }),
    maxReplicaLagMs: config.DATABASE_REPLICA_MAX_LAG_MS,
    healthCheckIntervalMs: config.DATABASE_HEALTH_INTERVAL_MS,
    healthCheckTimeoutMs: config.DATABASE_HEALTH_TIMEOUT_MS,
    readYourWritesTtlMs: config.DATABASE_RYW_TTL_MS,
    redisUrl: config.REDIS_URL,
    logger,
  };
}
