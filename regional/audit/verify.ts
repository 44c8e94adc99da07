import type { JsonValue } from "../../shared/canonical-json.ts";
import type { Sql } from "../db/index.ts";
import { checkpointSignatureValid, readCheckpoints, type StoredCheckpoint } from "./checkpoint.ts";
import type { ActorType, AuditRecord, AuditResult } from "./event.ts";
import { eventHash, genesisHash } from "./hash-chain.ts";

export interface VerifyResult {
  region: string;
  ok: boolean;
  /** Rows walked before the first break (all of them when ok). */
  events: number;
  head: { seq: number; hash: string } | null;
  checkpoints: number;
  /** The first sequence number that does not verify, and why. */
  broken?: { seq: number; reason: string };
}

interface Row extends Omit<AuditRecord, "metadata"> {
  seq: string;
  metadata: { [key: string]: JsonValue };
  prev_hash: Buffer;
  hash: Buffer;
}

const pageSize = 2_000;

/**
 * Walks a region's chain from seq 1: each row must follow the previous one without a gap,
 * carry the previous row's hash, hash to its stored hash, and match every signed checkpoint
 * at its seq. A signed checkpoint beyond the last row means the tail was cut off.
 */
export async function verifyChain(sql: Sql, region: string, secret: Buffer): Promise<VerifyResult> {
  const checkpoints = await readCheckpoints(sql, region);
  const breaks: { seq: number; reason: string }[] = [];
  const bySeq = new Map<number, StoredCheckpoint>();
  for (const checkpoint of checkpoints) {
    if (!checkpointSignatureValid(secret, checkpoint))
      breaks.push({ seq: checkpoint.seq, reason: `checkpoint at seq ${checkpoint.seq} has an invalid signature` });
    else bySeq.set(checkpoint.seq, checkpoint);
  }

  let expected = 1;
  let prevHash = genesisHash;
  let events = 0;
  walk: for (;;) {
    const rows = await sql<Row[]>`
      select seq, event_id, region,
             to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
             actor_type, actor_id, action, resource, result, tenant_id, ip, user_agent, request_id, metadata, prev_hash, hash
      from audit_log where region = ${region} and seq >= ${expected} order by seq limit ${pageSize}`;
    for (const row of rows) {
      const seq = Number(row.seq);
      const problem = checkRow(row, seq, expected, prevHash, bySeq.get(seq));
      if (problem) {
        breaks.push({ seq: problem.seq, reason: problem.reason });
        break walk;
      }
      prevHash = row.hash;
      expected = seq + 1;
      events++;
    }
    if (rows.length < pageSize) break;
  }

  const last = expected - 1;
  const beyond = checkpoints.filter((checkpoint) => bySeq.has(checkpoint.seq) && checkpoint.seq > last).at(-1);
  if (beyond && !breaks.some((found) => found.seq <= last)) {
    breaks.push({
      seq: last + 1,
      reason: `the chain ends at seq ${last}, but a signed checkpoint records seq ${beyond.seq}: the tail was removed`,
    });
  }
  const broken = breaks.sort((a, b) => a.seq - b.seq)[0];
  return {
    region,
    ok: broken === undefined,
    events,
    head: last > 0 ? { seq: last, hash: prevHash.toString("hex") } : null,
    checkpoints: checkpoints.length,
    ...(broken ? { broken } : {}),
  };
}

function checkRow(
  row: Row,
  seq: number,
  expected: number,
  prevHash: Buffer,
  checkpoint: StoredCheckpoint | undefined,
): { seq: number; reason: string } | null {
  if (seq !== expected) return { seq: expected, reason: `seq ${expected} is missing (the next stored row is seq ${seq})` };
  if (!row.prev_hash.equals(prevHash)) return { seq, reason: `prev_hash does not match the hash of seq ${seq - 1}` };
  const record: AuditRecord = {
    event_id: row.event_id,
    region: row.region,
    occurred_at: row.occurred_at,
    actor_type: row.actor_type as ActorType,
    actor_id: row.actor_id,
    action: row.action,
    resource: row.resource,
    result: row.result as AuditResult,
    tenant_id: row.tenant_id,
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    metadata: row.metadata,
  };
  if (!eventHash(prevHash, seq, record).equals(row.hash)) return { seq, reason: `the content of seq ${seq} does not match its hash` };
  if (checkpoint && !checkpoint.hash.equals(row.hash))
    return { seq, reason: `seq ${seq} does not match the signed checkpoint at that seq` };
  return null;
}

/** Every region that has events or checkpoints in this database. */
export async function auditRegions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ region: string }[]>`
    select region from audit_log group by region union select region from audit_checkpoints group by region order by region`;
  return rows.map((row) => row.region);
}
