import type { CommitHook } from "../audit/commit-hook.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { Priority } from "./priority.ts";

/** A priority before and after a change; a key's null means "its tenant's". */
export interface PriorityChange<T extends Priority | null> {
  id: string;
  tenantId: string;
  before: T;
  after: T;
}

export interface PriorityStore {
  /**
   * The priority a key's requests are granted: the key's own, else its tenant's, else
   * `normal`. From memory, never waiting on the database (a request must not need it: with
   * the edge in front, inference runs while Postgres is down).
   */
  of(auth: { tenantId: string; keyId: string }): Priority;
  /** Null for no such tenant. */
  setTenant(id: string, priority: Priority, onCommit?: CommitHook<PriorityChange<Priority>>): Promise<PriorityChange<Priority> | null>;
  /** Null for no such key; a null priority hands the key back to its tenant's. */
  setKey(
    id: string,
    priority: Priority | null,
    onCommit?: CommitHook<PriorityChange<Priority | null>>,
  ): Promise<PriorityChange<Priority | null> | null>;
}

export interface PriorityStoreOptions {
  /** How old this process's copy may get before it is read again (other instances' changes show within it). */
  refreshMs?: number;
  now?: () => number;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Priorities in Postgres (`tenants.priority`, `api_keys.priority`), kept in memory as the
 * rows that differ from the default — few, so the whole set is read at start and again every
 * `refreshMs` in the background, never on a request's path. A read that fails keeps the last copy.
 */
export function createPriorityStore(db: Db, logger: Logger, options: PriorityStoreOptions = {}): PriorityStore {
  const refreshMs = options.refreshMs ?? 10_000;
  const now = options.now ?? Date.now;
  let tenants = new Map<string, Priority>();
  let keys = new Map<string, Priority>();
  let readAt = now();
  let reading: Promise<void> | undefined;

  const read = () =>
    (reading ??= (async () => {
      try {
        const sql = await db.read();
        const [tenantRows, keyRows] = await Promise.all([
          sql<{ id: string; priority: Priority }[]>`select id, priority from tenants where priority <> 'normal'`,
          sql<{ id: string; priority: Priority }[]>`select id, priority from api_keys where priority is not null and status = 'active'`,
        ]);
        tenants = new Map(tenantRows.map((row) => [row.id, row.priority]));
        keys = new Map(keyRows.map((row) => [row.id, row.priority]));
      } catch (error) {
        logger.warn("priorities could not be read; the last copy stays in use", { error });
      } finally {
        readAt = now();
        reading = undefined;
      }
    })());

  const lookup = (auth: { tenantId: string; keyId: string }): Priority => keys.get(auth.keyId) ?? tenants.get(auth.tenantId) ?? "normal";

  // Read at once: by the first request, start-up has long finished it.
  void read();
  return {
    of(auth) {
      if (now() - readAt > refreshMs) void read();
      return lookup(auth);
    },

    async setTenant(id, priority, onCommit) {
      if (!uuid.test(id)) return null;
      const change = await db.transaction(id, async (tx) => {
        const [old] = await tx<{ priority: Priority }[]>`select priority from tenants where id = ${id} for update`;
        if (!old) return null;
        await tx`update tenants set priority = ${priority} where id = ${id}`;
        const changed = { id, tenantId: id, before: old.priority, after: priority };
        await onCommit?.(tx, changed);
        return changed;
      });
      if (change) {
        if (priority === "normal") tenants.delete(id);
        else tenants.set(id, priority);
      }
      return change;
    },

    async setKey(id, priority, onCommit) {
      if (!uuid.test(id)) return null;
      const [owner] = await db.write<{ tenant_id: string }[]>`select tenant_id from api_keys where id = ${id}`;
      if (!owner) return null;
      const change = await db.transaction(owner.tenant_id, async (tx) => {
        const [old] = await tx<{ priority: Priority | null }[]>`select priority from api_keys where id = ${id} for update`;
        if (!old) return null;
        await tx`update api_keys set priority = ${priority} where id = ${id}`;
        const changed = { id, tenantId: owner.tenant_id, before: old.priority, after: priority };
        await onCommit?.(tx, changed);
        return changed;
      });
      if (change) {
        if (priority === null) keys.delete(id);
        else keys.set(id, priority);
      }
      return change;
    },
  };
}
