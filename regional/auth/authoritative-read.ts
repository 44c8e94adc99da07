import { isConnectionError } from "../db/connection-errors.ts";
import type { Db, Sql } from "../db/index.ts";

/**
 * Runs a read an authorization decision rests on (is this key active, is its tenant) where a
 * revocation cannot be missed: on the primary, where every revocation commits. A replica
 * may not have replayed it yet, and an "active" read there would be cached by the edge for
 * up to a minute after the key was revoked.
 *
 * Only while the primary cannot be reached does the read go to a replica, and then only to
 * one that has replayed the tenant's last write — revocations and disables are that tenant's
 * writes (`db.transaction(tenantId)`), and the position they left is remembered outside the
 * replica (memory, Redis), so no replica can undo it. `tenantOf` names the tenant in what a
 * first read found: a key never changes tenant, so any node may say which one it is. When
 * no replica has replayed that far, `db.read` answers 503 rather than a stale record.
 */
export async function authoritativeRead<T>(db: Db, run: (sql: Sql) => Promise<T>, tenantOf: (found: T) => string | null): Promise<T> {
  if (db.health().primary.up !== false) {
    try {
      return await run(db.write);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      // The primary went away since the last check: as if the check had said so.
    }
  }
  const found = await run(await db.read());
  const tenantId = tenantOf(found);
  return tenantId === null ? found : await run(await db.read(tenantId));
}
