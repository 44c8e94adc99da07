import { createHmac, timingSafeEqual } from "node:crypto";
import type postgres from "postgres";
import { canonicalJson } from "../../shared/canonical-json.ts";
import type { Sql } from "../db/index.ts";
import { formatTime } from "./event.ts";
import type { ChainHead } from "./hash-chain.ts";

/*
 * A checkpoint is the chain head (seq and hash) at some moment, signed with a secret the
 * database does not hold. Deleting the newest rows leaves a chain that is internally
 * consistent; only a signed claim that it once reached further shows the cut.
 */

export interface Checkpoint {
  region: string;
  seq: number;
  hash: Buffer;
  createdAt: string;
}

export interface StoredCheckpoint extends Checkpoint {
  signature: Buffer;
}

function signedBytes(checkpoint: Checkpoint): string {
  return canonicalJson({
    region: checkpoint.region,
    seq: checkpoint.seq,
    hash: checkpoint.hash.toString("hex"),
    created_at: checkpoint.createdAt,
  });
}

/** HMAC-SHA-256 over the canonical JSON of region, seq, hash (hex) and time. */
export function signCheckpoint(secret: Buffer, checkpoint: Checkpoint): Buffer {
  return createHmac("sha256", secret).update(signedBytes(checkpoint)).digest();
}

export function checkpointSignatureValid(secret: Buffer, checkpoint: StoredCheckpoint): boolean {
  const expected = signCheckpoint(secret, checkpoint);
  return checkpoint.signature.length === expected.length && timingSafeEqual(checkpoint.signature, expected);
}

/** Records a signed checkpoint of `head`; the caller holds the region's chain lock. */
export async function insertCheckpoint(sql: postgres.ISql, secret: Buffer, region: string, head: ChainHead, now: number): Promise<void> {
  const checkpoint: Checkpoint = { region, seq: head.seq, hash: head.hash, createdAt: formatTime(now) };
  await sql`
    insert into audit_checkpoints (region, seq, hash, created_at, signature)
    values (${region}, ${head.seq}, ${head.hash}, ${checkpoint.createdAt}, ${signCheckpoint(secret, checkpoint)})`;
}

interface CheckpointRow {
  region: string;
  seq: string;
  hash: Buffer;
  created_at: string;
  signature: Buffer;
}

export async function readCheckpoints(sql: Sql, region: string): Promise<StoredCheckpoint[]> {
  const rows = await sql<CheckpointRow[]>`
    select region, seq, hash, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at, signature
    from audit_checkpoints where region = ${region} order by seq, id`;
  return rows.map((row) => ({
    region: row.region,
    seq: Number(row.seq),
    hash: row.hash,
    createdAt: row.created_at,
    signature: row.signature,
  }));
}
