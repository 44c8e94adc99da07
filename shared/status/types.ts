/**
 * The status page's JSON: what regional serves (`/internal/status`, `/admin/status.json`), what
 * the edge serves as `/status.json`, and what the renderers in this folder turn into HTML.
 * Snake_case, as every other JSON body of the gateway.
 */

export type Health = "healthy" | "degraded" | "down";

export type IncidentTier = "regional" | "edge";

/** What happened: a breaker opened or closed, or a call moved to the next provider or origin. */
export const incidentKinds = ["breaker_opened", "breaker_closed", "failover"] as const;
export type IncidentKind = (typeof incidentKinds)[number];

export interface StatusComponent {
  kind: "route" | "provider" | "origin";
  name: string;
  status: Health;
  /** When it last changed (an incident of the last 24 h, or the breaker's opening); null: unchanged for 24 h. */
  since: string | null;
  /** A few words on why it is not healthy (`circuit open`, `cooling down after 429`). */
  note: string | null;
}

export interface StatusIncident {
  at: string;
  tier: IncidentTier;
  kind: IncidentKind;
  /** A provider, `provider/model` or origin name: never tenant data. */
  subject: string;
  /** Why, in the breaker's words (`5 failures within 120 s`, `forced open`). */
  reason: string | null;
  region: string | null;
}

/** Public: no tenant data, nothing an outsider could map the deployment with beyond provider and route names. */
export interface PublicStatus {
  object: "status";
  generated_at: string;
  /** The worst of the components. */
  status: Health;
  components: StatusComponent[];
  /** The last 24 h, newest first. */
  incidents: StatusIncident[];
}

export interface BreakerStatus {
  id: string;
  status: "closed" | "open" | "half_open";
  forced: "open" | "closed" | null;
  opened_at: string | null;
  /** The rolling window: calls counted in it, and its length. */
  window: { successes: number; failures: number; window_ms: number };
  /** Half-open probes in flight, of the most allowed at once. */
  probes: { in_flight: number; max: number };
  transitions: number;
}

export interface OperatorStatus {
  object: "status.operator";
  generated_at: string;
  region: string;
  /** The public view, as the public page shows it. */
  public: PublicStatus;
  breakers: BreakerStatus[];
  cool_downs: Array<{ target: string; until: string }>;
  /** Admission queues per route; null when admission is off. */
  queues: Array<{ queue: string; in_flight: number; queued: number; shedding: boolean; wait_p99_ms: number | null }> | null;
  capacity: Array<{ name: string; in_flight: number; max_concurrent: number | null }>;
  database: {
    status: "ok" | "degraded" | "down";
    primary: { up: boolean | null; checked_at: string | null };
    replicas: Array<{
      name: string;
      up: boolean | null;
      replay_lsn: string | null;
      lag_ms: number | null;
      lag_bytes: number | null;
      in_rotation: boolean;
      reason: string | null;
      checked_at: string | null;
    }>;
  };
  /** Redis by use (never its URL); null without REDIS_URL. */
  redis: {
    status: "up" | "down";
    last_error_at: string | null;
    clients: Record<string, { up: boolean; last_error_at: string | null }>;
  } | null;
  /** Each `secretsmanager:` reference (a name, never the value) and when it was last read. */
  secrets: Array<{ reference: string; stage: string; used_by: string[]; last_read_at: string | null; last_refresh_failed: boolean }>;
  audit: {
    head_seq: number | null;
    /** Hex, the head event's hash. */
    head_hash: string | null;
    last_checkpoint_at: string | null;
    /** The last `GET /admin/audit/verify`, as audited. */
    last_verification: { at: string; ok: boolean; events: number | null } | null;
    /** The writer: its backlog, its journal, whether batches go to the journal now. */
    writer: { queued: number; journaled: number; journal_bytes: number; last_flush_at: string | null; failing: boolean };
  };
}

/** Rows an embedding tier adds to the operator page (the edge: cache hit ratio by level, rate limiters). */
export interface StatusTable {
  title: string;
  rows: Array<Record<string, string | number | boolean | null>>;
}
