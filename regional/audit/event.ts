import type { JsonValue } from "../../shared/canonical-json.ts";
import { uuidPattern } from "./uuidv7.ts";

/** Who did it: an admin credential, a tenant, one of its API keys, nobody known, or the service itself. */
export type ActorType = "admin" | "tenant" | "key" | "anonymous" | "system";
export type AuditResult = "success" | "failure" | "denied";

/** Names of the actions Breakwater audits, so every writer spells them the same. */
export const auditActions = {
  authFailure: "auth.failure",
  adminAuthFailure: "admin.auth_failure",
  authFailureSummary: "auth.failure_summary",
  tenantCreate: "tenant.create",
  tenantList: "tenant.list",
  tenantGet: "tenant.get",
  tenantDisable: "tenant.disable",
  tenantLimits: "tenant.limits",
  keyCreate: "key.create",
  keyList: "key.list",
  keyRotate: "key.rotate",
  keyRevoke: "key.revoke",
  keyLimits: "key.limits",
  tenantPriority: "tenant.priority",
  keyPriority: "key.priority",
  budgetSet: "budget.set",
  budgetDeleted: "budget.deleted",
  budgetList: "budget.list",
  // Told by the edge (a vouched header) when a request takes a budget past its soft threshold.
  budgetThresholdCrossed: "budget.threshold_crossed",
  auditQuery: "audit.query",
  auditVerify: "audit.verify",
  usageSummary: "usage.summary",
  gpuInstanceCreate: "gpu.instance.create",
  gpuInstanceTerminate: "gpu.instance.terminate",
  // Service events of the GPU lifecycle (regional/gpu/): instances that could bill unseen.
  gpuOrphanDestroyed: "gpu.orphan_destroyed",
  gpuOrphanAdopted: "gpu.orphan_adopted",
  gpuInstanceGivenUp: "gpu.instance_given_up",
  breakerForce: "breaker.force",
  configChange: "config.change",
  serviceStart: "service.start",
} as const;

/** What a caller hands the audit log. Everything but the actor, action and result is optional. */
export interface AuditInput {
  actorType: ActorType;
  actorId: string;
  action: string;
  result: AuditResult;
  resource?: string;
  tenantId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  metadata?: Record<string, unknown>;
}

/** An appended event before it is made safe to store: kept as cheap as possible on the request path. */
export interface RawEvent {
  eventId: string;
  occurredAtMs: number;
  input: AuditInput;
}

/**
 * An event as it is journaled, chained and stored: one field per `audit_log` column, every
 * string storable in Postgres `text`, metadata plain JSON. The names are the column names,
 * so a stored row maps back to this without a table of renames.
 */
export interface AuditRecord {
  event_id: string;
  region: string;
  occurred_at: string;
  actor_type: ActorType;
  actor_id: string;
  action: string;
  resource: string;
  result: AuditResult;
  tenant_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: { [key: string]: JsonValue };
}

const actorTypes: ReadonlySet<string> = new Set<ActorType>(["admin", "tenant", "key", "anonymous", "system"]);
const results: ReadonlySet<string> = new Set<AuditResult>(["success", "failure", "denied"]);
const maxMetadataBytes = 8 * 1024;
const maxDepth = 8;

/**
 * Time as stored: RFC 3339 UTC with microseconds, which is exactly what Postgres keeps, so
 * the verifier can read the stored value back in the same form and notice any change to it.
 */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

// NUL and lone surrogates: Postgres text and jsonb refuse them, and one refused event
// would block every event queued behind it.
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function clean(value: string, maxLength: number): string {
  const safe = value.replace(unstorable, "\uFFFD");
  return safe.length > maxLength ? safe.slice(0, maxLength) : safe;
}

function optional(value: string | null | undefined, maxLength: number): string | null {
  return value === undefined || value === null || value === "" ? null : clean(value, maxLength);
}

function toJson(value: unknown, depth: number): JsonValue | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
      return clean(value, 2_000);
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object": {
      if (depth >= maxDepth) return "[too deep]";
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (Array.isArray(value)) return value.map((item) => toJson(item, depth + 1) ?? null);
      return toJsonObject(value as Record<string, unknown>, depth + 1);
    }
    default:
      return undefined;
  }
}

function toJsonObject(value: Record<string, unknown>, depth: number): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(value)) {
    const json = toJson(item, depth);
    if (json !== undefined) out[clean(key, 200)] = json;
  }
  return out;
}

function metadataOf(value: Record<string, unknown> | undefined): { [key: string]: JsonValue } {
  if (!value) return {};
  const json = toJsonObject(value, 0);
  const size = JSON.stringify(json).length;
  return size > maxMetadataBytes ? { truncated: true, bytes: size } : json;
}

/**
 * Makes an appended event storable: bounded, valid strings and plain JSON. Runs once per
 * event in the writer, off the request path, and gives the same record every time.
 */
export function toRecord(raw: RawEvent, region: string): AuditRecord {
  const { input } = raw;
  return {
    event_id: raw.eventId,
    region,
    occurred_at: formatTime(raw.occurredAtMs),
    actor_type: actorTypes.has(input.actorType) ? input.actorType : "anonymous",
    actor_id: clean(String(input.actorId), 200),
    action: clean(String(input.action), 100),
    resource: clean(input.resource ?? "", 500),
    result: results.has(input.result) ? input.result : "failure",
    tenant_id: optional(input.tenantId, 100),
    ip: optional(input.ip, 64),
    user_agent: optional(input.userAgent, 512),
    request_id: optional(input.requestId, 128),
    metadata: metadataOf(input.metadata),
  };
}

/** A journal line back to a record; null for anything that is not one (say, a torn write). */
export function parseRecord(value: unknown): AuditRecord | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  const text = (key: string) => typeof record[key] === "string";
  const nullableText = (key: string) => record[key] === null || typeof record[key] === "string";
  const ok =
    text("event_id") &&
    uuidPattern.test(record.event_id as string) &&
    text("region") &&
    text("occurred_at") &&
    text("actor_id") &&
    text("action") &&
    text("resource") &&
    actorTypes.has(record.actor_type as string) &&
    results.has(record.result as string) &&
    nullableText("tenant_id") &&
    nullableText("ip") &&
    nullableText("user_agent") &&
    nullableText("request_id") &&
    typeof record.metadata === "object" &&
    record.metadata !== null &&
    !Array.isArray(record.metadata);
  return ok ? (record as unknown as AuditRecord) : null;
}
