import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { eventHash } from "../../regional/audit/hash-chain.ts";
import { verifyChain } from "../../regional/audit/verify.ts";
import type { AuditRecord } from "../../regional/audit/event.ts";
import {
  createAuditDb,
  createTestWriter,
  sampleEvent,
  testCheckpointSecret,
  testCheckpointSecretText,
  type AuditDb,
} from "../support/audit.ts";

const region = "verify-region";
let t: AuditDb;

beforeEach(async () => {
  t = await createAuditDb(inject("primaryUrl"));
  // 20 events, a signed checkpoint of the head (seq 20), 5 more events after it.
  const w = await createTestWriter(t.db, { region });
  for (let index = 1; index <= 20; index++) w.audit.append(sampleEvent(index));
  await w.close();
  const more = await createTestWriter(t.db, { region, checkpointIntervalMs: 1e12 });
  for (let index = 21; index <= 25; index++) more.audit.append(sampleEvent(index));
  await more.audit.flush();
  // Closing would checkpoint seq 25; leave those five uncovered by a checkpoint.
  await more.journal.close();
});
afterEach(async () => t?.close());

/** Changes rows the way someone with database access would: the append-only trigger is bypassed. */
async function tamper(statement: (sql: AuditDb["db"]["write"]) => Promise<unknown>): Promise<void> {
  await t.db.write.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await statement(tx as unknown as AuditDb["db"]["write"]);
  });
}

const verify = () => verifyChain(t.db.write, region, testCheckpointSecret);

describe("the audit verifier", () => {
  it("reports an untouched chain as ok with its head", async () => {
    const result = await verify();
    expect(result).toMatchObject({ ok: true, events: 25, checkpoints: 1, head: { seq: 25 } });
    expect(result.broken).toBeUndefined();
  });

  it("names the row whose field was edited", async () => {
    await tamper((sql) => sql`update audit_log set actor_id = 'someone-else' where region = ${region} and seq = 7`);
    expect(await verify()).toMatchObject({
      ok: false,
      events: 6,
      broken: { seq: 7, reason: expect.stringMatching(/content of seq 7 does not match its hash/) },
    });
  });

  it("names the row whose metadata was edited", async () => {
    await tamper((sql) => sql`update audit_log set metadata = '{"index": 999}' where region = ${region} and seq = 12`);
    expect((await verify()).broken?.seq).toBe(12);
  });

  it("names a row whose time moved by a microsecond", async () => {
    await tamper(
      (sql) => sql`update audit_log set occurred_at = occurred_at + interval '1 microsecond' where region = ${region} and seq = 3`,
    );
    expect((await verify()).broken?.seq).toBe(3);
  });

  it("names the gap a deleted row leaves", async () => {
    await tamper((sql) => sql`delete from audit_log where region = ${region} and seq = 9`);
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 9, reason: expect.stringMatching(/seq 9 is missing/) } });
  });

  it("names the first of two rows that swapped places", async () => {
    await tamper(async (sql) => {
      await sql`update audit_log set seq = -1 where region = ${region} and seq = 4`;
      await sql`update audit_log set seq = 4 where region = ${region} and seq = 5`;
      await sql`update audit_log set seq = 5 where region = ${region} and seq = -1`;
    });
    expect((await verify()).broken?.seq).toBe(4);
  });

  it("names a row whose hashes were rewritten to match, through the signed checkpoint", async () => {
    // Rewrite seq 15 and re-hash every row after it, so that the chain is consistent again.
    await tamper(async (sql) => {
      await sql`update audit_log set action = 'nothing.happened' where region = ${region} and seq = 15`;
      const rows = await sql<(AuditRecord & { seq: string; prev_hash: Buffer })[]>`
        select seq, event_id, region, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
               actor_type, actor_id, action, resource, result, tenant_id, ip, user_agent, request_id, metadata, prev_hash
        from audit_log where region = ${region} and seq >= 15 order by seq`;
      let prev = rows[0]!.prev_hash;
      for (const { seq, prev_hash: _, ...record } of rows) {
        const hash = eventHash(prev, Number(seq), record);
        await sql`update audit_log set prev_hash = ${prev}, hash = ${hash} where region = ${region} and seq = ${seq}`;
        prev = hash;
      }
    });
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 20, reason: expect.stringMatching(/signed checkpoint/) } });
  });

  it("notices a removed tail through the signed checkpoint", async () => {
    await tamper((sql) => sql`delete from audit_log where region = ${region} and seq > 17`);
    expect(await verify()).toMatchObject({
      ok: false,
      events: 17,
      broken: { seq: 18, reason: expect.stringMatching(/ends at seq 17.*checkpoint records seq 20/) },
    });
  });

  it("rejects a checkpoint not signed with the secret", async () => {
    await tamper((sql) => sql`update audit_checkpoints set signature = ${Buffer.alloc(32)} where region = ${region}`);
    expect(await verify()).toMatchObject({ ok: false, broken: { seq: 20, reason: expect.stringMatching(/invalid signature/) } });
    expect((await verifyChain(t.db.write, region, Buffer.alloc(32, 1))).ok).toBe(false);
  });

  it("runs as npm run audit:verify: exit 0 when intact, 1 and the broken seq when not", async () => {
    const run = promisify(execFile);
    const env = { ...process.env, DATABASE_URL: t.url, AUDIT_CHECKPOINT_SECRET: testCheckpointSecretText, LOG_LEVEL: "silent" };
    const cli = [resolve(import.meta.dirname, "../../scripts/audit-verify.ts")];
    const ok = await run(process.execPath, ["--import", "tsx", ...cli], { env });
    expect(ok.stdout).toMatch(/verify-region: ok, 25 events/);
    await tamper((sql) => sql`delete from audit_log where region = ${region} and seq = 2`);
    const failed = await run(process.execPath, ["--import", "tsx", ...cli], { env }).then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toMatch(/verify-region: BROKEN at seq 2: seq 2 is missing/);
  }, 30_000);
});
