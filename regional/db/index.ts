import postgres from "postgres";
import type { Config } from "../config.ts";
import { startEmbeddedPostgres } from "./embedded.ts";

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
  /** True when the data lives in embedded PGlite rather than a Postgres server. */
  embedded: boolean;
  close(timeoutS?: number): Promise<void>;
}

export interface DbOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
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

export async function openDb(options: DbOptions): Promise<Db> {
  const embedded = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir);
  const url = options.databaseUrl ?? embedded?.url ?? "";
  const write = postgres(url, {
    max: embedded ? 1 : (options.poolSize ?? 10),
    onnotice: () => {},
    connect_timeout: 10,
    backoff: reconnectBackoff,
  });
  return {
    write,
    async transaction(_tenantId, fn) {
      return (await write.begin(fn)) as Awaited<ReturnType<typeof fn>>;
    },
    read: async () => write,
    embedded: embedded !== undefined,
    async close(timeoutS = 5) {
      await write.end({ timeout: timeoutS });
      await embedded?.stop();
    },
  };
}

export function dbOptionsFrom(config: Config): DbOptions {
  return { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR };
}
