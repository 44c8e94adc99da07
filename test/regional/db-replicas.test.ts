import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db, type Sql } from "../../regional/db/index.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { waitUntil } from "../infra/wait-until.ts";

const maxLagMs = 100;

/*
 * Replica routing against a real primary and streaming replica. The background check is
 * set to once a minute so that each test decides when nodes are looked at (checkHealth),
 * and the clock lag is measured with is injected.
 */
describe("reads over replicas", () => {
  let cluster: PostgresCluster;
  let db: Db;
  let skewMs = 0;
  const inRecovery = async (sql: Sql) => (await sql<{ standby: boolean }[]>`select pg_is_in_recovery() as standby`)[0]?.standby;

  beforeAll(async () => {
    cluster = await startPostgres();
    const setup = postgres(cluster.primaryUrl, { max: 1, onnotice: () => {} });
    await setup`create table notes (id serial primary key, note text not null)`;
    await setup.end();
    await cluster.waitForReplay();
    db = await openDb({
      databaseUrl: cluster.primaryUrl,
      dataDir: "",
      poolSize: 4,
      // The same replica twice, as two nodes: enough to see the round robin.
      replicaUrls: [cluster.replicaUrl, `${cluster.replicaUrl}?application_name=second`],
      replicaPoolSize: 2,
      maxReplicaLagMs: maxLagMs,
      healthCheckIntervalMs: 60_000,
      now: () => Date.now() + skewMs,
    });
  }, 120_000);
  afterAll(async () => {
    await db?.close(1);
    await cluster?.stop();
  });

  it("spreads reads round robin over the replicas in rotation, never the primary", async () => {
    const health = await db.checkHealth();
    expect(health.reads).toBe("replicas");
    expect(health.replicas.map((replica) => replica.inRotation)).toEqual([true, true]);
    const picked = await Promise.all([1, 2, 3, 4].map(async () => await db.read()));
    expect(picked[0]).not.toBe(picked[1]);
    expect(picked[2]).toBe(picked[0]);
    expect(picked[3]).toBe(picked[1]);
    expect(picked).not.toContain(db.write);
    for (const sql of picked) expect(await inRecovery(sql)).toBe(true);
  });

  it("counts an idle replica that has replayed everything as lag 0, however old its last transaction", async () => {
    await db.write`insert into notes (note) values ('old')`;
    await cluster.waitForReplay();
    // What `now() - pg_last_xact_replay_timestamp()` would call lag grows past the bound while nothing is written.
    await waitUntil("the last replayed transaction to be older than the bound", async () => {
      const [row] = await (await db.read())<
        { ms: number }[]
      >`select extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000 as ms`;
      return Number(row?.ms) > maxLagMs * 2;
    });
    const health = await db.checkHealth();
    expect(health.replicas.map((replica) => [replica.lagMs, replica.lagBytes, replica.inRotation])).toEqual([
      [0, 0, true],
      [0, 0, true],
    ]);
    expect(health.replicas[0]?.lsn).toBe(health.primary.lsn);
  });

  it("takes a replica lagging past the bound out of rotation (reads go to the primary) and back once it catches up", async () => {
    await cluster.pauseReplay();
    try {
      await db.write`insert into notes (note) values ('unreplayed')`;
      await db.checkHealth();
      skewMs += maxLagMs * 5;
      const lagging = await db.checkHealth();
      expect(lagging.replicas.map((replica) => replica.reason)).toEqual(["lagging", "lagging"]);
      expect(lagging.replicas[0]?.lagMs).toBeGreaterThan(maxLagMs);
      expect(lagging.replicas[0]?.lagBytes).toBeGreaterThan(0);
      expect(lagging.reads).toBe("primary");
      const sql = await db.read();
      expect(sql).toBe(db.write);
      expect((await sql<{ n: number }[]>`select count(*)::int as n from notes where note = 'unreplayed'`)[0]?.n).toBe(1);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForReplay();
    const caughtUp = await db.checkHealth();
    expect(caughtUp.replicas.map((replica) => [replica.lagMs, replica.inRotation])).toEqual([
      [0, true],
      [0, true],
    ]);
    expect(await inRecovery(await db.read())).toBe(true);
  });

  it("marks a killed replica down without waiting for the next check, and new reads keep succeeding", async () => {
    // Pool connections are open, as are the checks' own: closing, they make the node be looked at at once.
    await Promise.all([1, 2, 3, 4].map(async () => await (await db.read())`select pg_sleep(0.01)`));
    await cluster.stopReplica("immediate");
    await waitUntil("the replicas to be marked down", async () => db.health().replicas.every((replica) => replica.up === false));
    expect(db.health().replicas.map((replica) => replica.reason)).toEqual(["down", "down"]);
    expect(db.health().reads).toBe("primary");
    for (let i = 0; i < 20; i++) {
      const sql = await db.read();
      expect(sql).toBe(db.write);
      expect((await sql<{ one: number }[]>`select 1 as one`)[0]?.one).toBe(1);
    }
  });

  it("puts a replica that comes back into rotation again, over connections that work", async () => {
    await cluster.startReplica();
    await cluster.waitForReplay();
    await waitUntil("the replicas to be back in rotation", async () =>
      (await db.checkHealth()).replicas.every((replica) => replica.inRotation),
    );
    for (let i = 0; i < 10; i++) expect(await inRecovery(await db.read())).toBe(true);
  });
});
