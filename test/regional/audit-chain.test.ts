import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { insertChained } from "../../regional/audit/chain-store.ts";
import { checkpointSignatureValid, readCheckpoints, signCheckpoint } from "../../regional/audit/checkpoint.ts";
import { toRecord, type AuditRecord } from "../../regional/audit/event.ts";
import { eventHash, genesisHash } from "../../regional/audit/hash-chain.ts";
import { uuidv7 } from "../../regional/audit/uuidv7.ts";
import { verifyChain } from "../../regional/audit/verify.ts";
import { createAuditDb, createTestWriter, sampleEvent, testCheckpointSecret, type AuditDb } from "../support/audit.ts";
import { createHash } from "node:crypto";

let t: AuditDb;
beforeAll(async () => {
  t = await createAuditDb(inject("primaryUrl"));
});
afterAll(async () => t?.close());

interface StoredRow {
  seq: string;
  event_id: string;
}

async function rowsOf(region: string): Promise<StoredRow[]> {
  return await t.db.write<StoredRow[]>`select seq, event_id from audit_log where region = ${region} order by seq`;
}

// Known answers computed outside this code base (Python: json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) and hashlib), so the chain is reproducible anywhere.
const first: AuditRecord = {
  event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
  region: "eu-west-1",
  occurred_at: "2024-01-02T03:04:05.678000Z",
  actor_type: "admin",
  actor_id: "admin:1a2b3c4d",
  action: "tenant.create",
  resource: "tenant:7d444840-9dc0-11d1-b245-5ffdce74fad2",
  result: "success",
  tenant_id: "7d444840-9dc0-11d1-b245-5ffdce74fad2",
  ip: "203.0.113.7",
  user_agent: "curl/8.5.0",
  request_id: "req-0001",
  metadata: { name: "Acme", status: 201 },
};
const second: AuditRecord = {
  ...first,
  event_id: "01890a5d-ac97-7000-8000-000000000002",
  action: "key.create",
  resource: "api_key:x",
  ip: null,
  metadata: { prefix: "bw_AbCdEfGh", ü: [1, 2.5, null, true] },
};

describe("the hash chain", () => {
  it("hashes SHA-256(prev_hash || canonical event) to known answers", () => {
    const h1 = eventHash(genesisHash, 1, first);
    expect(h1.toString("hex")).toBe("9ef3438975c9b98fd941ddcc5a3e6459c59e81523b076e921bb7265861f123c7");
    expect(eventHash(h1, 2, second).toString("hex")).toBe("6cfb68146d4c5ec67cdf55f8d3918b703b28843075fe3e20afa622e7cfc10331");
  });

  it("signs checkpoints with HMAC-SHA-256 to a known answer", () => {
    const secret = createHash("sha256").update("test-secret-of-at-least-32-characters!!").digest();
    const checkpoint = {
      region: "eu-west-1",
      seq: 2,
      hash: Buffer.from("6cfb68146d4c5ec67cdf55f8d3918b703b28843075fe3e20afa622e7cfc10331", "hex"),
      createdAt: "2024-01-02T03:04:06.000000Z",
    };
    const signature = signCheckpoint(secret, checkpoint);
    expect(signature.toString("hex")).toBe("76f8e28c0c6a1b3c5af821764659994cb66da9f0039415fc5cd64d745845c98d");
    expect(checkpointSignatureValid(secret, { ...checkpoint, signature })).toBe(true);
    expect(checkpointSignatureValid(secret, { ...checkpoint, seq: 1, signature })).toBe(false);
  });

  it("gives UUIDv7 event ids that sort by time", () => {
    const ids = [uuidv7(1_700_000_000_000), uuidv7(1_700_000_000_001), uuidv7(1_800_000_000_000)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]?.slice(0, 13)).toBe("018bcfe5-6800");
  });
});

describe("the audit writer", () => {
  it("writes buffered events in batches as one gapless chain that verifies", async () => {
    const w = await createTestWriter(t.db, { region: "batches", flushEvents: 100, flushIntervalMs: 10_000 });
    const ids = Array.from({ length: 250 }, (_, index) => w.audit.append(sampleEvent(index)));
    await w.audit.flush();
    const rows = await rowsOf("batches");
    expect(rows.map((row) => row.event_id)).toEqual(ids);
    expect(rows.map((row) => Number(row.seq))).toEqual(ids.map((_, index) => index + 1));
    expect(await verifyChain(t.db.write, "batches", testCheckpointSecret)).toMatchObject({ ok: true, events: 250 });
    await w.close();
  });

  it("flushes on its own once the queue reaches the batch size", async () => {
    const w = await createTestWriter(t.db, { region: "by-size", flushEvents: 10, flushIntervalMs: 60_000 });
    for (let index = 0; index < 10; index++) w.audit.append(sampleEvent(index));
    await expect.poll(async () => (await rowsOf("by-size")).length, { timeout: 5_000 }).toBe(10);
    await w.close();
  });

  it("flushes on its own after the interval when the queue stays small", async () => {
    const w = await createTestWriter(t.db, { region: "by-time", flushEvents: 100, flushIntervalMs: 100 });
    w.audit.append(sampleEvent(1));
    expect(await rowsOf("by-time")).toHaveLength(0);
    await expect.poll(async () => (await rowsOf("by-time")).length, { timeout: 5_000 }).toBe(1);
    await w.close();
  });

  it("resolves a durable append only once its row is committed", async () => {
    const w = await createTestWriter(t.db, { region: "durable", flushIntervalMs: 60_000 });
    const id = await w.audit.appendDurable(sampleEvent(1));
    const [row] = await t.db.write<{ event_id: string }[]>`select event_id from audit_log where event_id = ${id}`;
    expect(row?.event_id).toBe(id);
    await w.close();
  });

  it("stores each event id once however often it is written", async () => {
    const records = Array.from({ length: 5 }, (_, index) =>
      toRecord({ eventId: uuidv7(), occurredAtMs: Date.now(), input: sampleEvent(index) }, "idempotent"),
    );
    expect((await insertChained(t.db.write, "idempotent", records)).inserted).toBe(5);
    expect((await insertChained(t.db.write, "idempotent", [...records, ...records])).inserted).toBe(0);
    const extra = toRecord({ eventId: uuidv7(), occurredAtMs: Date.now(), input: sampleEvent(9) }, "idempotent");
    expect((await insertChained(t.db.write, "idempotent", [records[2]!, extra, extra])).inserted).toBe(1);
    expect((await rowsOf("idempotent")).map((row) => Number(row.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await verifyChain(t.db.write, "idempotent", testCheckpointSecret)).toMatchObject({ ok: true, events: 6 });
  });

  it("keeps one linear chain when two writers append to the same region at once", async () => {
    const [a, b] = await Promise.all([
      createTestWriter(t.db, { region: "two-writers", flushEvents: 7 }),
      createTestWriter(t.db, { region: "two-writers", flushEvents: 11 }),
    ]);
    const ids: string[] = [];
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 25; index++)
        ids.push(a!.audit.append(sampleEvent(index, { actorId: "a" })), b!.audit.append(sampleEvent(index, { actorId: "b" })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([a!.audit.flush(), b!.audit.flush()]);
    const rows = await rowsOf("two-writers");
    expect(rows).toHaveLength(2_000);
    expect(new Set(rows.map((row) => row.event_id))).toEqual(new Set(ids));
    expect(rows.map((row) => Number(row.seq))).toEqual(rows.map((_, index) => index + 1));
    expect(await verifyChain(t.db.write, "two-writers", testCheckpointSecret)).toMatchObject({ ok: true, events: 2_000 });
    await Promise.all([a!.close(), b!.close()]);
  });

  it("keeps regions as separate chains", async () => {
    const [eu, us] = await Promise.all([createTestWriter(t.db, { region: "eu" }), createTestWriter(t.db, { region: "us" })]);
    for (let index = 0; index < 30; index++) {
      eu!.audit.append(sampleEvent(index));
      us!.audit.append(sampleEvent(index));
    }
    await Promise.all([eu!.audit.flush(), us!.audit.flush()]);
    expect((await rowsOf("eu")).map((row) => Number(row.seq))).toEqual((await rowsOf("us")).map((row) => Number(row.seq)));
    expect(await verifyChain(t.db.write, "eu", testCheckpointSecret)).toMatchObject({ ok: true, events: 30 });
    await Promise.all([eu!.close(), us!.close()]);
  });

  it("stores what Postgres would refuse (NUL, lone surrogates, huge metadata) so nothing blocks the queue", async () => {
    const w = await createTestWriter(t.db, { region: "odd-input" });
    const id = await w.audit.appendDurable(
      sampleEvent(1, {
        actorId: "a\u0000b",
        userAgent: "x\uD800y",
        metadata: {
          bad: "\u0000",
          nested: { deep: [1, Number.NaN, undefined, 2n] },
          when: new Date(0),
          big: "x".repeat(1_500),
          more: "y".repeat(1_500),
          evenMore: Array.from({ length: 10 }, () => "z".repeat(1_000)),
        },
      }),
    );
    const small = await w.audit.appendDurable(
      sampleEvent(2, { metadata: { bad: "\u0000", nested: { deep: [1, Number.NaN, undefined, 2n] }, when: new Date(0) } }),
    );
    const rows = await t.db.write<{ event_id: string; actor_id: string; user_agent: string; metadata: unknown }[]>`
      select event_id, actor_id, user_agent, metadata from audit_log where region = 'odd-input' order by seq`;
    expect(rows.map((row) => row.event_id)).toEqual([id, small]);
    expect(rows[0]).toMatchObject({ actor_id: "a\uFFFDb", user_agent: "x\uFFFDy", metadata: { truncated: true } });
    expect(rows[1]?.metadata).toEqual({ bad: "\uFFFD", nested: { deep: [1, null, null, "2"] }, when: "1970-01-01T00:00:00.000Z" });
    expect(await verifyChain(t.db.write, "odd-input", testCheckpointSecret)).toMatchObject({ ok: true, events: 2 });
    await w.close();
  });

  it("signs a checkpoint of the head at intervals and on close", async () => {
    let now = 1_700_000_000_000;
    const w = await createTestWriter(t.db, { region: "checkpoints", checkpointIntervalMs: 1_000, now: () => now });
    await w.audit.appendDurable(sampleEvent(1));
    expect(await readCheckpoints(t.db.write, "checkpoints")).toHaveLength(0);
    now += 1_000;
    await w.audit.appendDurable(sampleEvent(2));
    await w.audit.appendDurable(sampleEvent(3));
    const [checkpoint] = await readCheckpoints(t.db.write, "checkpoints");
    expect(checkpoint).toMatchObject({ seq: 2, createdAt: "2023-11-14T22:13:21.000000Z" });
    await w.close();
    const all = await readCheckpoints(t.db.write, "checkpoints");
    expect(all.map((row) => row.seq)).toEqual([2, 3]);
    for (const row of all) expect(checkpointSignatureValid(testCheckpointSecret, row)).toBe(true);
  });

  it("refuses updates and deletes of audit rows in the database itself", async () => {
    const w = await createTestWriter(t.db, { region: "append-only" });
    await w.audit.appendDurable(sampleEvent(1));
    await expect(t.db.write`update audit_log set action = 'x' where region = 'append-only'`).rejects.toThrow(/append-only/);
    await expect(t.db.write`delete from audit_log where region = 'append-only'`).rejects.toThrow(/append-only/);
    await expect(t.db.write`truncate audit_log`).rejects.toThrow(/append-only/);
    await w.close();
  });
});
