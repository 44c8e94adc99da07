import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { migrate, readMigrations } from "../../regional/db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
});
afterAll(async () => database?.drop());

describe("migrations", () => {
  it("apply once when several instances start together", async () => {
    const clients = Array.from({ length: 4 }, () => postgres(database.url, { max: 2, onnotice: () => {} }));
    const migrations = await readMigrations();
    const results = await Promise.all(clients.map((sql) => migrate(sql, migrations)));
    expect(results.flat().sort()).toEqual(migrations.map((migration) => migration.version));
    const [first] = clients;
    const rows = await first!<{ version: number }[]>`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version));
    expect(await migrate(first!, migrations)).toEqual([]);
    await Promise.all(clients.map((sql) => sql.end()));
  });

  it("roll back a failing migration and name it", async () => {
    const other = await createTestDatabase(inject("primaryUrl"));
    const sql = postgres(other.url, { max: 1, onnotice: () => {} });
    const broken = [{ version: 1, name: "half_done", sql: "create table half (id int); select * from no_such_table;" }];
    await expect(migrate(sql, broken)).rejects.toThrow(/1_half_done/);
    const [table] = await sql<{ exists: boolean }[]>`select to_regclass('half') is not null as exists`;
    expect(table?.exists).toBe(false);
    await sql.end();
    await other.drop();
  });
});
