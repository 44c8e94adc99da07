import { incidentKinds, type IncidentKind, type StatusIncident } from "../../shared/status/types.ts";
import type { Sql } from "../db/index.ts";

interface Row {
  at: Date;
  tier: "regional" | "edge";
  kind: string;
  subject: string;
  detail: Record<string, unknown>;
  region: string | null;
}

const knownKind = (kind: string): kind is IncidentKind => (incidentKinds as readonly string[]).includes(kind);

/** Incidents since `since`, newest first, at most `limit` (a flapping breaker must not make the page endless). */
export async function recentIncidents(sql: Sql, since: Date, limit = 200): Promise<StatusIncident[]> {
  const rows = await sql<Row[]>`
    select at, tier, kind, subject, detail, region from incidents
    where at >= ${since.toISOString()}::timestamptz order by at desc, id desc limit ${limit}`;
  return rows.flatMap(({ at, tier, kind, subject, detail, region }) =>
    knownKind(kind)
      ? [{ at: new Date(at).toISOString(), tier, kind, subject, reason: typeof detail.reason === "string" ? detail.reason : null, region }]
      : [],
  );
}
