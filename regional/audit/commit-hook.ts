import type { TransactionSql } from "../db/index.ts";

/**
 * Called by a store as the last step of a change's transaction, with what the change came
 * to: whatever it writes (the change's audit event) commits with the change, or neither does.
 */
export type CommitHook<T> = (tx: TransactionSql, result: T) => Promise<void>;
