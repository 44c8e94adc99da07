import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Sql } from "./index.ts";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));
/** Arbitrary constant: every instance takes the same advisory lock to migrate. */
const migrationLockId = 727_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(`${dir}${file}`, "utf8"),
    })),
  );
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so
 * that instances starting together apply each migration exactly once.
 */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<number[]> {
  const pending = migrations ?? (await readMigrations());
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(${migrationLockId})`;
    await connection`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Set((await connection<{ version: number }[]>`select version from schema_migrations`).map((row) => row.version));
    const applied: number[] = [];
    for (const migration of pending) {
      if (done.has(migration.version)) continue;
      await connection.unsafe("begin");
      try {
        await connection.unsafe(migration.sql);
        await connection`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`;
        await connection.unsafe("commit");
      } catch (error) {
        await connection.unsafe("rollback");
        throw new Error(`Migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.version);
    }
    return applied;
  } finally {
    await connection`select pg_advisory_unlock(${migrationLockId})`.catch(() => {});
    connection.release();
  }
}

/** True when every migration shipped with this build has been applied. */
export async function migrationsDone(sql: Sql, migrations: Migration[]): Promise<boolean> {
  const rows = await sql<{ version: number }[]>`select version from schema_migrations`;
  const done = new Set(rows.map((row) => row.version));
  return migrations.every((migration) => done.has(migration.version));
}
