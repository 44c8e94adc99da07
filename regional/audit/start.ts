import type { AppDeps } from "../deps.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/index.ts";
import { isLoopbackHost } from "../../shared/loopback.ts";
import type { Logger } from "../logger.ts";
import { createUsageRecorder } from "../usage/recorder.ts";
import { createAuthFailureAuditor } from "./auth-failures.ts";
import { checkpointSecret } from "./checkpoint-secret.ts";
import { openAuditLog } from "./open.ts";
import { auditServiceStart } from "./service-start.ts";

export interface Auditing {
  deps: Pick<AppDeps, "audit" | "authFailures" | "usage" | "admin">;
  /** Writes what is queued (to Postgres, else the journal) and stops the timers; call after the server closed. */
  close(): Promise<void>;
}

/**
 * Everything main.ts needs for auditing: the audit log (its journal replayed), sampled
 * auth-failure auditing, the usage recorder and the admin API settings.
 */
export async function startAuditing(config: Config, db: Db, logger: Logger): Promise<Auditing> {
  const secret = checkpointSecret(config.AUDIT_CHECKPOINT_SECRET, db.embedded || isLoopbackHost(config.HOST));
  if (secret.devDefault)
    logger.warn("audit checkpoints are signed with the dev default secret; set AUDIT_CHECKPOINT_SECRET anywhere but a developer's machine");
  const audit = await openAuditLog({
    sql: db.write,
    region: config.REGION,
    dataDir: config.DATA_DIR,
    logger,
    checkpointSecret: secret.key,
    flushIntervalMs: config.AUDIT_FLUSH_INTERVAL_MS,
    flushEvents: config.AUDIT_FLUSH_EVENTS,
    checkpointIntervalMs: config.AUDIT_CHECKPOINT_INTERVAL_MS,
  });
  await auditServiceStart(audit, db.write, config).catch((error: unknown) => logger.warn("start not audited", { error }));
  const authFailures = createAuthFailureAuditor(audit, { perClientPerMinute: config.AUDIT_AUTH_FAILURES_PER_MINUTE });
  const usage = createUsageRecorder({
    sql: db.write,
    logger,
    flushIntervalMs: config.AUDIT_FLUSH_INTERVAL_MS,
    flushEvents: config.AUDIT_FLUSH_EVENTS,
  });
  if (!config.ADMIN_API_KEY) logger.info("admin API disabled: set ADMIN_API_KEY to enable /admin");
  return {
    deps: { audit, authFailures, usage, admin: { key: config.ADMIN_API_KEY, checkpointSecret: secret.key } },
    async close() {
      authFailures.stop();
      await usage.close();
      await audit.close();
    },
  };
}
