import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { openDb, type Db } from "../regional/db/index.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { startRedis } from "../test/infra/redis.ts";
import { microsecondsPerOp, type MicroResult } from "./micro.ts";
import { percentile } from "./stats.ts";

export interface ReplicaBenchOptions {
  /** Node picks timed for the selection figures. */
  selections?: number;
  /** Reads (each a real query) timed for the read-your-writes figures. */
  reads?: number;
}

/** Resolves once `db`'s checks see a replica that has replayed `tenantId`'s last write. */
async function untilReplicaHas(db: Db, tenantId: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if ((await db.read(tenantId)) !== db.write) return;
    await db.checkHealth();
  }
  throw new Error("no replica replayed the write");
}

/**
 * Replica routing against a real primary and streaming replica (two replica nodes over it):
 * the cost of picking a node for a read (aim ≤ 5 µs), without and with a tenant's commit
 * position, and what read-your-writes adds to a real read on a caught-up replica, which must
 * not be a database round trip (a plain read is one; the difference stays far below it).
 */
export async function replicaFigures(options: ReplicaBenchOptions = {}): Promise<MicroResult[]> {
  const selections = options.selections ?? 200_000;
  const reads = options.reads ?? 5_000;
  const cluster = await startPostgres({ database: "replica_bench" });
  const redis = await startRedis();
  const dbs: Db[] = [];
  try {
    const open = async (redisUrl?: string) => {
      const db = await openDb({
        databaseUrl: cluster.primaryUrl,
        dataDir: "",
        replicaUrls: [cluster.replicaUrl, `${cluster.replicaUrl}?application_name=second`],
        // Checks only when asked, so the figures time reads alone.
        healthCheckIntervalMs: 60_000,
        redisUrl,
      });
      dbs.push(db);
      return db;
    };
    const db = await open();
    const shared = await open(redis.url);
    await db.write`create table bench_notes (tenant_id uuid not null, value int not null)`;
    const tenantId = randomUUID();
    await db.transaction(tenantId, async (tx) => await tx`insert into bench_notes values (${tenantId}, 1)`);
    await shared.transaction(tenantId, async (tx) => await tx`insert into bench_notes values (${tenantId}, 2)`);
    await cluster.waitForReplay();
    await untilReplicaHas(db, tenantId);
    await untilReplicaHas(shared, tenantId);

    const pickUs = await microsecondsPerOp(selections, () => db.read());
    const pickTenantUs = await microsecondsPerOp(selections, () => db.read(tenantId));
    const pickSharedUs = await microsecondsPerOp(reads, () => shared.read(tenantId));
    // One of each in turn, which goes first alternating (the second of a pair runs slower), medians
    // compared: the difference sought is far below a round trip's jitter.
    const timed = async (read: () => Promise<unknown>) => {
      const started = performance.now();
      await read();
      return (performance.now() - started) * 1000;
    };
    const plainRead = async () => await (await db.read())`select value from bench_notes where tenant_id = ${tenantId}`;
    const rywRead = async () => await (await db.read(tenantId))`select value from bench_notes where tenant_id = ${tenantId}`;
    const timings = { plain: [] as number[], ryw: [] as number[] };
    for (let i = 0; i < reads; i++) {
      const plainFirst = i % 2 === 0;
      const first = await timed(plainFirst ? plainRead : rywRead);
      const second = await timed(plainFirst ? rywRead : plainRead);
      if (i < reads / 10) continue;
      timings.plain.push(plainFirst ? first : second);
      timings.ryw.push(plainFirst ? second : first);
    }
    const median = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        0.5,
      );
    const plainReadUs = median(timings.plain);
    const rywReadUs = median(timings.ryw);
    return [
      { id: "replica selection per read", value: pickUs, unit: "µs/op", aim: { op: "≤", value: 5 } },
      // Far below one round trip (the plain read below): picking the node for a tenant asks no database.
      { id: "replica selection per read, tenant with a commit position", value: pickTenantUs, unit: "µs/op", aim: { op: "≤", value: 5 } },
      { id: "replica selection per read, position shared through Redis", value: pickSharedUs, unit: "µs/op" },
      { id: "plain read on a replica (one round trip)", value: plainReadUs, unit: "µs/op" },
      {
        id: "read-your-writes read on a caught-up replica (added)",
        value: Math.max(0, rywReadUs - plainReadUs),
        unit: "µs/op",
        aim: { op: "≤", value: 50 },
      },
    ];
  } finally {
    await Promise.allSettled(dbs.map(async (db) => await db.close(1)));
    await redis.stop();
    await cluster.stop();
  }
}
