import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { canonicalJson } from "../../shared/canonical-json.ts";
import type { Sql } from "../db/index.ts";
import { auditActions } from "./event.ts";
import type { AuditLog } from "./writer.ts";

// Values never written to the log, nor hashed into it (a weak password could be guessed
// from its hash): only whether they are set.
const secret = /KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL/i;

/** The configuration as the audit log may show it: secrets reduced to "set". */
export function auditableConfig(config: Record<string, unknown>): { hash: string; settings: Record<string, string | number | boolean | null> } {
  const settings: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (secret.test(name)) settings[name] = "set";
    else settings[name] = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : String(value);
  }
  const hash = createHash("sha256").update(canonicalJson(settings)).digest("hex");
  return { hash, settings };
}

/**
 * Audits this start with the configuration it runs with, and a `config.change` event when
 * that differs from what the region's previous start recorded.
 */
export async function auditServiceStart(audit: AuditLog, sql: Sql, config: Record<string, unknown>): Promise<void> {
  const { hash, settings } = auditableConfig(config);
  const actorId = `regional:${hostname()}:${process.pid}`;
  const [previous] = await sql<{ hash: string | null; settings: Record<string, unknown> | null }[]>`
    select metadata->>'config_hash' as hash, metadata->'settings' as settings from audit_log
    where region = ${audit.region} and action = ${auditActions.serviceStart} order by seq desc limit 1`;
  if (previous?.hash && previous.hash !== hash) {
    const before = previous.settings ?? {};
    const changed = [...new Set([...Object.keys(before), ...Object.keys(settings)])].filter((name) => canonicalJson(before[name] ?? null) !== canonicalJson(settings[name] ?? null)).sort();
    audit.append({ actorType: "system", actorId, action: auditActions.configChange, resource: "config", result: "success", metadata: { from: previous.hash, to: hash, changed } });
  }
  audit.append({ actorType: "system", actorId, action: auditActions.serviceStart, resource: "service", result: "success", metadata: { config_hash: hash, settings } });
}
