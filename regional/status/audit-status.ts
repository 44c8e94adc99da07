import type { OperatorStatus } from "../../shared/status/types.ts";
import { auditActions } from "../audit/event.ts";
import type { Sql } from "../db/index.ts";

type AuditChain = Pick<OperatorStatus["audit"], "head_seq" | "head_hash" | "last_checkpoint_at" | "last_verification">;

/**
 * The region's chain head, its newest signed checkpoint, and the last verification an operator
 * ran (`GET /admin/audit/verify` audits its own result, so the chain itself remembers it).
 */
export async function auditChainStatus(sql: Sql, region: string): Promise<AuditChain> {
  const [[head], [checkpoint], [verified]] = await Promise.all([
    sql<{ seq: string; hash: Buffer }[]>`select seq, hash from audit_log where region = ${region} order by seq desc limit 1`,
    sql<{ created_at: Date }[]>`select created_at from audit_checkpoints where region = ${region} order by seq desc limit 1`,
    sql<{ occurred_at: Date; metadata: { ok?: unknown; events?: unknown } }[]>`
      select occurred_at, metadata from audit_log
      where action = ${auditActions.auditVerify} and resource = ${`audit:${region}`} and result = 'success'
      order by seq desc limit 1`,
  ]);
  return {
    head_seq: head ? Number(head.seq) : null,
    head_hash: head ? Buffer.from(head.hash).toString("hex") : null,
    last_checkpoint_at: checkpoint ? new Date(checkpoint.created_at).toISOString() : null,
    last_verification: verified
      ? {
          at: new Date(verified.occurred_at).toISOString(),
          ok: verified.metadata.ok === true,
          events: typeof verified.metadata.events === "number" ? verified.metadata.events : null,
        }
      : null,
  };
}
