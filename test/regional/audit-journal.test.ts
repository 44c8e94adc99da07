import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertChained } from "../../regional/audit/chain-store.ts";
import { toRecord, type AuditRecord } from "../../regional/audit/event.ts";
import { journalPath, openJournal } from "../../regional/audit/journal.ts";
import { openAuditLog } from "../../regional/audit/open.ts";
import { uuidv7 } from "../../regional/audit/uuidv7.ts";
import { verifyChain } from "../../regional/audit/verify.ts";
import { openDb, type Db } from "../../regional/db/index.ts";
import { migrate } from "../../regional/db/migrate.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { createTestWriter, sampleEvent, silentLogger, testCheckpointSecret } from "../support/audit.ts";

function records(count: number, region = "journal"): AuditRecord[] {
  return Array.from({ length: count }, (_, index) =>
    toRecord({ eventId: uuidv7(), occurredAtMs: Date.now(), input: sampleEvent(index) }, region),
  );
}

async function readAll(journal: Awaited<ReturnType<typeof openJournal>>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const batch of journal.read(3)) out.push(...batch);
  return out;
}

describe("the audit journal", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bw-journal-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("reads back what it appended, in order and in batches", async () => {
    const journal = await openJournal(join(dir, "roundtrip"), "r", silentLogger);
    const written = records(7);
    await journal.append(written.slice(0, 4));
    await journal.append(written.slice(4));
    expect(journal.hasPending()).toBe(true);
    expect(await readAll(journal)).toEqual(written);
    await journal.clear();
    expect(journal.hasPending()).toBe(false);
    expect(await readAll(journal)).toEqual([]);
    await journal.close();
  });

  it("keeps its events across a reopen, as after a crash", async () => {
    const where = join(dir, "reopen");
    const first = await openJournal(where, "r", silentLogger);
    const written = records(3);
    await first.append(written);
    await first.close();
    const again = await openJournal(where, "r", silentLogger);
    expect(again.hasPending()).toBe(true);
    expect(await readAll(again)).toEqual(written);
    await again.close();
  });

  it("cuts a torn last line on open, so the next append starts on a clean line", async () => {
    const where = join(dir, "torn");
    const first = await openJournal(where, "r", silentLogger);
    const written = records(3);
    await first.append(written.slice(0, 2));
    await first.close();
    const line = JSON.stringify(written[2]);
    await appendFile(journalPath(where, "r"), line.slice(0, line.length - 9));
    const again = await openJournal(where, "r", silentLogger);
    const later = records(1);
    await again.append(later);
    expect(await readAll(again)).toEqual([...written.slice(0, 2), ...later]);
    await again.close();
  });

  it("treats a file holding only a torn line as empty", async () => {
    const where = join(dir, "only-torn");
    await openJournal(where, "r", silentLogger).then((journal) => journal.close());
    await writeFile(journalPath(where, "r"), '{"event_id":"0189');
    const journal = await openJournal(where, "r", silentLogger);
    expect(journal.hasPending()).toBe(false);
    expect(await readFile(journalPath(where, "r"), "utf8")).toBe("");
    await journal.close();
  });

  it("refuses a journal another live process holds, and takes over one whose owner died", async () => {
    const where = join(dir, "locked");
    await openJournal(where, "r", silentLogger).then((journal) => journal.close());
    const lock = `${journalPath(where, "r")}.lock`;
    await writeFile(lock, String(process.ppid));
    await expect(openJournal(where, "r", silentLogger)).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
    await writeFile(lock, "4194000");
    const journal = await openJournal(where, "r", silentLogger);
    expect(await readFile(lock, "utf8")).toBe(String(process.pid));
    await journal.close();
  });

  it("skips lines that are not audit records instead of failing the replay", async () => {
    const where = join(dir, "garbage");
    await openJournal(where, "r", silentLogger).then((journal) => journal.close());
    const [good] = records(1);
    await writeFile(journalPath(where, "r"), `not json\n{"event_id":"x"}\n${JSON.stringify(good)}\n`);
    const journal = await openJournal(where, "r", silentLogger);
    expect(await readAll(journal)).toEqual([good]);
    await journal.close();
  });
});

describe("the audit log when Postgres goes away", () => {
  let cluster: PostgresCluster;
  let db: Db;
  let dir: string;
  const region = "outage";

  beforeAll(async () => {
    cluster = await startPostgres();
    await cluster.stopReplica("immediate");
    db = await openDb({ databaseUrl: cluster.primaryUrl, dataDir: "", poolSize: 4 });
    await migrate(db.write);
    dir = await mkdtemp(join(tmpdir(), "bw-outage-"));
  }, 120_000);
  afterAll(async () => {
    await db?.close(1);
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function storedIds(): Promise<string[]> {
    const rows = await db.write<{ event_id: string }[]>`select event_id from audit_log where region = ${region} order by seq`;
    return rows.map((row) => row.event_id);
  }

  it("acknowledges durable events from the fsynced journal while Postgres is down, then replays them once", async () => {
    const w = await createTestWriter(db, { region, flushIntervalMs: 50, retryAfterMs: 100, writeTimeoutMs: 2_000 }, join(dir, "live"));
    const before = await w.audit.appendDurable(sampleEvent(0));
    await cluster.stopPrimary("immediate");

    const started = Date.now();
    const during = await Promise.all(Array.from({ length: 30 }, (_, index) => w.audit.appendDurable(sampleEvent(index + 1))));
    expect(Date.now() - started).toBeLessThan(3_000);
    const journaled = await readAll(w.journal);
    expect(journaled.map((record) => record.event_id)).toEqual(during);

    await cluster.startPrimary();
    await expect.poll(storedIds, { timeout: 15_000, interval: 100 }).toEqual([before, ...during]);
    await expect.poll(() => w.journal.hasPending(), { timeout: 5_000 }).toBe(false);
    expect(await verifyChain(db.write, region, testCheckpointSecret)).toMatchObject({ ok: true, events: 31 });
    await w.close();
  }, 60_000);

  it("replays on start what a crashed process left in the journal, without duplicating what it had already stored", async () => {
    const where = join(dir, "crashed");
    const journal = await openJournal(join(where, "audit"), "crash-region", silentLogger);
    const left = records(10, "crash-region");
    await journal.append(left);
    // The crash came after these five reached Postgres but before the journal was emptied.
    await insertChained(db.write, "crash-region", left.slice(0, 5));
    await journal.close();

    const audit = await openAuditLog({
      sql: db.write,
      region: "crash-region",
      dataDir: where,
      logger: silentLogger,
      checkpointSecret: testCheckpointSecret,
      flushIntervalMs: 1_000,
      flushEvents: 100,
      checkpointIntervalMs: 60_000,
    });
    const rows = await db.write<{ event_id: string }[]>`select event_id from audit_log where region = 'crash-region' order by seq`;
    expect(rows.map((row) => row.event_id)).toEqual(left.map((record) => record.event_id));
    expect(await readFile(journalPath(join(where, "audit"), "crash-region"), "utf8")).toBe("");
    expect(await verifyChain(db.write, "crash-region", testCheckpointSecret)).toMatchObject({ ok: true, events: 10 });
    await audit.close();
  }, 30_000);
});
