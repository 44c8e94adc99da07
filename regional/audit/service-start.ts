import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { canonicalJson } from "../../shared/canonical-json.ts";
import type { Sql } from "../db/index.ts";
import { urlWithoutCredentials } from "../redact-url.ts";
import { auditActions } from "./event.ts";
import type { AuditLog } from "./writer.ts";

/**
 * The settings the audit log records with their values: none of them is or holds a
 * credential. Any other setting (a key, a secret, one added later and not listed here) is
 * recorded only as "set" — nor is its value hashed into the log, where a weak one could be
 * guessed from its hash. An allowlist, so that forgetting a name errs on the safe side.
 */
export const recordedSettings: ReadonlySet<string> = new Set([
  "HOST",
  "PORT",
  "DATA_DIR",
  "REGION",
  "LOG_LEVEL",
  "MOCK_PROVIDERS",
  "ROUTES_FILE",
  "TRUSTED_PROXIES",
  "DATABASE_POOL_SIZE",
  "DATABASE_REPLICA_POOL_SIZE",
  "DATABASE_CONNECT_TIMEOUT_MS",
  "DATABASE_IDLE_TIMEOUT_MS",
  "DATABASE_REPLICA_MAX_LAG_MS",
  "DATABASE_HEALTH_INTERVAL_MS",
  "DATABASE_HEALTH_TIMEOUT_MS",
  "DATABASE_RYW_TTL_MS",
  "MAX_BODY_BYTES",
  "MAX_JSON_DEPTH",
  "MAX_UPLOAD_BYTES",
  "SHUTDOWN_GRACE_MS",
  "KEY_CACHE_TTL_MS",
  "BREAKWATER_DEV_RPM",
  "BREAKWATER_DEV_TPM",
  "OPENAI_MODELS",
  "ANTHROPIC_MODELS",
  "GPU_TIMEOUT_MS",
  "GPU_CREATE_TIMEOUT_MS",
  "GPU_POLL_INTERVAL_MS",
  "AUDIT_FLUSH_INTERVAL_MS",
  "AUDIT_FLUSH_EVENTS",
  "AUDIT_CHECKPOINT_INTERVAL_MS",
  "AUDIT_AUTH_FAILURES_PER_MINUTE",
  "DATABASE_MAX_LIFETIME_MS",
  "GPU_SWEEP_INTERVAL_MS",
  "GPU_GIVE_UP_AFTER_MS",
  "SECRETS_MANAGER_REGION",
  "SECRETS_CACHE_TTL_MS",
]);

/** Settings that are URLs (or lists of them): recorded as scheme, host, port and path only. */
export const recordedUrlSettings: ReadonlySet<string> = new Set([
  "DATABASE_URL",
  "DATABASE_REPLICA_URLS",
  "REDIS_URL",
  "UPSTASH_REDIS_REST_URL",
  "OPENAI_BASE_URL",
  "ANTHROPIC_BASE_URL",
  "VASTAI_BASE_URL",
  "IONET_BASE_URL",
  "SECRETS_MANAGER_ENDPOINT",
]);

type Setting = string | number | boolean | null;

/** One setting as the audit log may show it. */
function shown(name: string, value: unknown): Setting {
  if (recordedUrlSettings.has(name)) {
    const urls = (Array.isArray(value) ? value : String(value).split(",")).map((item) => urlWithoutCredentials(String(item).trim()));
    // A value that is not a URL after all could be anything.
    return urls.every((url) => url !== null) ? urls.join(",") : "set";
  }
  if (!recordedSettings.has(name)) return "set";
  if (typeof value === "number" || typeof value === "boolean") return value;
  // A URL where a plain value was expected (a path, a model list) loses its credentials too.
  return String(value)
    .split(",")
    .map((item) => (item.includes("://") ? (urlWithoutCredentials(item.trim()) ?? "[not shown]") : item))
    .join(",");
}

/** The configuration as the audit log may show it: named settings with their values, the rest as "set". */
export function auditableConfig(config: Record<string, unknown>): { hash: string; settings: Record<string, Setting> } {
  const settings: Record<string, Setting> = {};
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) continue;
    settings[name] = shown(name, value);
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
    const changed = [...new Set([...Object.keys(before), ...Object.keys(settings)])]
      .filter((name) => canonicalJson(before[name] ?? null) !== canonicalJson(settings[name] ?? null))
      .sort();
    audit.append({
      actorType: "system",
      actorId,
      action: auditActions.configChange,
      resource: "config",
      result: "success",
      metadata: { from: previous.hash, to: hash, changed },
    });
  }
  audit.append({
    actorType: "system",
    actorId,
    action: auditActions.serviceStart,
    resource: "service",
    result: "success",
    metadata: { config_hash: hash, settings },
  });
}
