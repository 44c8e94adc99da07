import { randomFillSync } from "node:crypto";

/*
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness, so ids sort by time and
 * index well. Built from a pooled random buffer because this runs on the request path for
 * every audit event; a fresh `randomUUID()`-style call per id would cost more than the
 * whole rest of an append.
 */

const hex = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const pool = Buffer.alloc(4096);
let offset = pool.length;

export function uuidv7(now: number = Date.now()): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 10;
  const ms = Math.max(0, Math.floor(now));
  const high = Math.floor(ms / 0x1_0000_0000);
  const low = ms >>> 0;
  return (
    hex[(high >>> 8) & 0xff]! +
    hex[high & 0xff]! +
    hex[low >>> 24]! +
    hex[(low >>> 16) & 0xff]! +
    "-" +
    hex[(low >>> 8) & 0xff]! +
    hex[low & 0xff]! +
    "-" +
    hex[0x70 | (pool[r]! & 0x0f)]! +
    hex[pool[r + 1]!]! +
    "-" +
    hex[0x80 | (pool[r + 2]! & 0x3f)]! +
    hex[pool[r + 3]!]! +
    "-" +
    hex[pool[r + 4]!]! +
    hex[pool[r + 5]!]! +
    hex[pool[r + 6]!]! +
    hex[pool[r + 7]!]! +
    hex[pool[r + 8]!]! +
    hex[pool[r + 9]!]!
  );
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
