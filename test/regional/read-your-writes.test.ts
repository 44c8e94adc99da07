import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDb, type Db, type DbOptions } from "../../regional/db/index.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { waitUntil } from "../infra/wait-until.ts";

const pairs = 1_000;
const tenantCount = 20;

/** What a tenant reads back: the last value it wrote (0 before any). */
async function lastValue(db: Db, tenantId: string): Promise<{ value: number; replica: boolean }> {
  const sql = await db.read(tenantId);
  const [row] = await sql<{ value: number }[]>`select coalesce(max(value), 0)::int as value from notes where tenant_id = ${tenantId}`;
  return { value: row?.value ?? -1, replica: sql !== db.write };
}

async function write(db: Db, tenantId: string, value: number): Promise<void> {
  await db.transaction(tenantId, async (tx) => await tx`insert into notes (tenant_id, value) values (${tenantId}, ${value})`);
}

interface Outcome {
  violations: number;
  fromReplica: number;
}

/**
 * `pairs` write→read pairs over `tenantCount` tenants, writes through `writer`, reads through
 * `reader`. Each pair reads back the tenant just written and one written a while before; with
 * `awaitReplica`, every 100th pair first waits until the reader's checks see a replica past
 * the write, so the caught-up replica path is taken for certain too.
 */
async function run(writer: Db, reader: Db, { awaitReplica }: { awaitReplica: boolean }): Promise<Outcome> {
  const tenants = Array.from({ length: tenantCount }, () => randomUUID());
  const written = new Map<string, number>();
  const outcome: Outcome = { violations: 0, fromReplica: 0 };
  const check = async (tenantId: string) => {
    const seen = await lastValue(reader, tenantId);
    if (seen.value !== (written.get(tenantId) ?? 0)) outcome.violations++;
    if (seen.replica) outcome.fromReplica++;
  };
  for (let i = 1; i <= pairs; i++) {
    const tenantId = tenants[i % tenantCount] ?? "";
    await write(writer, tenantId, i);
    written.set(tenantId, i);
    if (awaitReplica && i % 100 === 0) {
      await waitUntil("a replica to replay the write", async () => (await reader.read(tenantId)) !== reader.write, { intervalMs: 5 });
    }
    await check(tenantId);
    await check(tenants[(i + 1) % tenantCount] ?? "");
  }
  return outcome;
}

describe("read-your-writes against a real primary and replica", () => {
  let cluster: PostgresCluster;
  let replicaAdmin: postgres.Sql;
  const opened: Db[] = [];
  const open = async (options: Partial<DbOptions> = {}): Promise<Db> => {
    const db = await openDb({
      databaseUrl: cluster.primaryUrl,
      dataDir: "",
      poolSize: 4,
      replicaUrls: [cluster.replicaUrl],
      replicaPoolSize: 4,
      // Lag never takes the replica out here: only the tenants' positions keep reads right.
      maxReplicaLagMs: 60_000,
      healthCheckIntervalMs: 5,
      ...options,
    });
    opened.push(db);
    return db;
  };
  const setApplyDelay = async (delay: string) => {
    await replicaAdmin.unsafe(`alter system set recovery_min_apply_delay = '${delay}'`);
    await replicaAdmin`select pg_reload_conf()`;
  };

  beforeAll(async () => {
    cluster = await startPostgres();
    const setup = postgres(cluster.primaryUrl, { max: 1, onnotice: () => {} });
    await setup`create table notes (tenant_id uuid not null, value int not null)`;
    await setup`create index on notes (tenant_id, value)`;
    await setup.end();
    await cluster.waitForReplay();
    replicaAdmin = postgres(cluster.replicaUrl, { max: 1, onnotice: () => {} });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(opened.map(async (db) => await db.close(1)));
    await replicaAdmin?.end();
    await cluster?.stop();
  });

  it("has 0 violations over 1,000 write→read pairs with the replica's replay paused (where plain reads are stale)", async () => {
    const db = await open();
    await cluster.pauseReplay();
    try {
      const outcome = await run(db, db, { awaitReplica: false });
      expect(outcome.violations).toBe(0);
      // The replica stayed in rotation the whole time and a read without a tenant would have missed every write.
      const plain = await db.read();
      expect(plain).not.toBe(db.write);
      const [stale] = await plain<{ n: number }[]>`select count(*)::int as n from notes`;
      expect(stale?.n).toBe(0);
    } finally {
      await cluster.resumeReplay();
    }
  }, 60_000);

  it("sends every read to the primary after barrier() until a replica has replayed what came before it", async () => {
    const db = await open();
    await cluster.pauseReplay();
    try {
      // What a start's migrations do: a table the replica does not have yet.
      await db.write`create table barrier_check (id int)`;
      await db.write`insert into barrier_check values (1)`;
      expect(await db.read()).not.toBe(db.write);

      await db.barrier();
      const sql = await db.read();

      expect(sql).toBe(db.write);
      expect(await sql<{ id: number }[]>`select id from barrier_check`).toEqual([{ id: 1 }]);
    } finally {
      await cluster.resumeReplay();
    }
    await waitUntil("a replica past the barrier", async () => (await db.read()) !== db.write, { intervalMs: 5 });
    expect(await (await db.read())<{ id: number }[]>`select id from barrier_check`).toEqual([{ id: 1 }]);
  }, 60_000);

  it("has 0 violations over 1,000 write→read pairs with replay delayed, reading from the replica once it caught up", async () => {
    const db = await open();
    await setApplyDelay("20ms");
    try {
      const outcome = await run(db, db, { awaitReplica: true });
      expect(outcome.violations).toBe(0);
      expect(outcome.fromReplica).toBeGreaterThanOrEqual(10);
    } finally {
      await setApplyDelay("0");
    }
  }, 60_000);

  it("has 0 violations across two regional instances sharing Redis: writes through one, reads through the other", async () => {
    const redisUrl = inject("redisUrl");
    const first = await open({ redisUrl });
    const second = await open({ redisUrl });
    await setApplyDelay("20ms");
    try {
      const outcome = await run(first, second, { awaitReplica: true });
      expect(outcome.violations).toBe(0);
      expect(outcome.fromReplica).toBeGreaterThanOrEqual(10);
    } finally {
      await setApplyDelay("0");
    }
  }, 60_000);

  it("sends a tenant's reads to the primary on another instance only because Redis told it about the write", async () => {
    const redisUrl = inject("redisUrl");
    const [writer, shared, alone] = [await open({ redisUrl }), await open({ redisUrl }), await open()];
    const tenantId = randomUUID();
    await cluster.pauseReplay();
    try {
      await write(writer, tenantId, 7);
      expect(await lastValue(shared, tenantId)).toEqual({ value: 7, replica: false });
      // Without the shared position the other instance reads the replica, which has not replayed the write.
      expect(await lastValue(alone, tenantId)).toEqual({ value: 0, replica: true });
    } finally {
      await cluster.resumeReplay();
    }
  });

  it("reads a tenant from the primary when Redis cannot be reached, and still reads without a tenant from the replica", async () => {
    const db = await open({ redisUrl: "redis://127.0.0.1:1" });
    const tenantId = randomUUID();
    await write(db, tenantId, 3);
    expect(await lastValue(db, tenantId)).toEqual({ value: 3, replica: false });
    expect(await db.read()).not.toBe(db.write);
  });
});
