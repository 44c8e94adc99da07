import type { Sql, TransactionSql } from "../db/index.ts";
import { insertCheckpoint } from "./checkpoint.ts";
import type { AuditRecord } from "./event.ts";
import { linkAfter, type ChainHead } from "./hash-chain.ts";

/** Arbitrary constant (next to the migrations' 727_001): the advisory lock class of audit chains. */
export const auditLockClass = 727_003;

export interface InsertResult {
  /** Records that were new; the rest were stored already (an earlier try, a journal replay). */
  inserted: number;
  head: ChainHead | null;
}

export interface CheckpointRequest {
  secret: Buffer;
  now: number;
}

interface HeadRow {
  seq: string;
  hash: Buffer;
}

/**
 * Appends records to the region's chain in one transaction. The advisory lock makes every
 * writer of the region, in any process, wait its turn, and the head is read inside it, so
 * the chain never forks. Records whose event id is stored already are skipped before seqs
 * are given out, which makes retries and journal replays idempotent without gaps.
 */
export async function insertChained(
  sql: Sql,
  region: string,
  records: AuditRecord[],
  checkpoint?: CheckpointRequest,
): Promise<InsertResult> {
  return await sql.begin(async (tx) => await insertChainedIn(tx, region, records, checkpoint));
}

/**
 * `insertChained` inside the caller's transaction: the records commit with whatever else the
 * transaction writes, or not at all (an admin action and its event). The chain's lock is held
 * until that transaction ends.
 */
export async function insertChainedIn(
  tx: TransactionSql,
  region: string,
  records: AuditRecord[],
  checkpoint?: CheckpointRequest,
): Promise<InsertResult> {
  await tx`select pg_advisory_xact_lock(${auditLockClass}, hashtext(${region}))`;
  const ids = records.map((record) => record.event_id);
  const known = await tx<{ event_id: string }[]>`select event_id from audit_log where event_id = any(${ids}::uuid[])`;
  const [last] = await tx<HeadRow[]>`select seq, hash from audit_log where region = ${region} order by seq desc limit 1`;
  let head: ChainHead | null = last ? { seq: Number(last.seq), hash: last.hash } : null;

  const seen = new Set(known.map((row) => row.event_id));
  const fresh = records.filter((record) => !seen.has(record.event_id) && seen.add(record.event_id));
  if (fresh.length > 0) {
    const chained = linkAfter(head, fresh);
    // One statement per batch: columns travel as arrays, so the parameter count stays fixed.
    await tx`
      insert into audit_log (region, seq, event_id, occurred_at, actor_type, actor_id, action, resource, result,
                             tenant_id, ip, user_agent, request_id, metadata, prev_hash, hash)
      select ${region}, b.seq, b.event_id, b.occurred_at, b.actor_type, b.actor_id, b.action, b.resource, b.result,
             b.tenant_id, b.ip, b.user_agent, b.request_id, b.metadata::jsonb, decode(b.prev_hash, 'hex'), decode(b.hash, 'hex')
      from unnest(
        ${chained.map((c) => String(c.seq))}::bigint[], ${chained.map((c) => c.record.event_id)}::uuid[],
        ${chained.map((c) => c.record.occurred_at)}::timestamptz[], ${chained.map((c) => c.record.actor_type)}::text[],
        ${chained.map((c) => c.record.actor_id)}::text[], ${chained.map((c) => c.record.action)}::text[],
        ${chained.map((c) => c.record.resource)}::text[], ${chained.map((c) => c.record.result)}::text[],
        ${chained.map((c) => c.record.tenant_id)}::text[], ${chained.map((c) => c.record.ip)}::text[],
        ${chained.map((c) => c.record.user_agent)}::text[], ${chained.map((c) => c.record.request_id)}::text[],
        ${chained.map((c) => JSON.stringify(c.record.metadata))}::text[],
        ${chained.map((c) => c.prevHash.toString("hex"))}::text[], ${chained.map((c) => c.hash.toString("hex"))}::text[]
      ) as b(seq, event_id, occurred_at, actor_type, actor_id, action, resource, result,
             tenant_id, ip, user_agent, request_id, metadata, prev_hash, hash)`;
    const end = chained[chained.length - 1]!;
    head = { seq: end.seq, hash: end.hash };
  }
  if (checkpoint && head) await insertCheckpoint(tx, checkpoint.secret, region, head, checkpoint.now);
  return { inserted: fresh.length, head };
}

/** Signs a checkpoint of the region's head unless the newest checkpoint already covers it. */
export async function checkpointHead(sql: Sql, region: string, secret: Buffer, now: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${auditLockClass}, hashtext(${region}))`;
    const [last] = await tx<HeadRow[]>`select seq, hash from audit_log where region = ${region} order by seq desc limit 1`;
    if (!last) return;
    const [covered] = await tx<
      { seq: string }[]
    >`select seq from audit_checkpoints where region = ${region} and seq >= ${last.seq} limit 1`;
    if (!covered) await insertCheckpoint(tx, secret, region, { seq: Number(last.seq), hash: last.hash }, now);
  });
}
