import postgres from "postgres";
import type { Config } from "../config.ts";
import { startEmbeddedPostgres } from "./embedded.ts";

export type Sql = postgres.Sql;

/**
 * The only way code reaches Postgres: `write` is the primary; `read(tenantId)` picks the
 * node a tenant's reads may use (the primary until replicas are configured).
 */
export interface Db {
  write: Sql;
  read(tenantId?: string): Sql;
  /** True when the data lives in embedded PGlite rather than a Postgres server. */
  embedded: boolean;
  close(timeoutS?: number): Promise<void>;
}

export interface DbOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
}

export async function openDb(options: DbOptions): Promise<Db> {
  const embedded = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir);
  const url = options.databaseUrl ?? embedded?.url ?? "";
  const write = postgres(url, {
    max: embedded ? 1 : (options.poolSize ?? 10),
    onnotice: () => {},
    connect_timeout: 10,
  });
  return {
    write,
    read: () => write,
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
