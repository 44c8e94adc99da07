import { createHash } from "node:crypto";
import { canonicalJson } from "../../shared/canonical-json.ts";
import type { AuditRecord } from "./event.ts";

/** The `prev_hash` of a region's first event: 32 zero bytes. */
export const genesisHash: Buffer = Buffer.alloc(32);

export interface ChainHead {
  seq: number;
  hash: Buffer;
}

export interface ChainedRecord {
  seq: number;
  record: AuditRecord;
  prevHash: Buffer;
  hash: Buffer;
}

/**
 * hash = SHA-256(prev_hash || canonical_json(event)), where the event is the record plus its
 * `seq`: hashing the position too means a row moved to another place no longer verifies.
 */
export function eventHash(prevHash: Buffer, seq: number, record: AuditRecord): Buffer {
  return createHash("sha256")
    .update(prevHash)
    .update(canonicalJson({ ...record, seq }), "utf8")
    .digest();
}

/** Links records after `head` (the genesis when the chain is empty), in order. */
export function linkAfter(head: ChainHead | null, records: AuditRecord[]): ChainedRecord[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? genesisHash;
  return records.map((record) => {
    seq += 1;
    const hash = eventHash(prevHash, seq, record);
    const chained = { seq, record, prevHash, hash };
    prevHash = hash;
    return chained;
  });
}
