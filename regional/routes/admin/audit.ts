import { Hono } from "hono";
import { z } from "zod";
import { parseOrThrow } from "../../../shared/validation.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { queryAudit } from "../../audit/query.ts";
import { verifyChain } from "../../audit/verify.ts";
import { auditDetail } from "../../http/admin-audit.ts";
import { isoDateTimeParam } from "../../http/pg-timestamp.ts";
import type { AppEnv } from "../../http/context.ts";
import { decodeCursor, encodeCursor } from "../../http/cursor.ts";

const text = z.string().min(1).max(500);
/** A region name as REGION allows it. */
const regionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, - and _ only");
export const auditQuery = z.object({
  region: regionName.optional(),
  actor_type: z.enum(["admin", "tenant", "key", "anonymous", "system"]).optional(),
  actor_id: text.optional(),
  action: text.optional(),
  resource: text.optional(),
  result: z.enum(["success", "failure", "denied"]).optional(),
  tenant_id: text.optional(),
  request_id: text.optional(),
  since: isoDateTimeParam.optional(),
  until: isoDateTimeParam.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
// A region name and a seq inside bigint: a cursor holding anything else is a 400, never a query.
const auditCursor = z.strictObject({ region: regionName, seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
export const verifyQuery = z.object({ region: z.string().min(1).max(64).optional() });

/** GET /audit (filtered, newest first, cursor-paginated) and GET /audit/verify. */
export function auditRoute(deps: AppDeps, checkpointSecret: Buffer): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/audit", async (c) => {
      const audit = auditDetail(c);
      audit.action = auditActions.auditQuery;
      const query = parseOrThrow(auditQuery, c.req.query());
      const region = query.region ?? deps.audit.region;
      const cursor = query.cursor ? decodeCursor(query.cursor, auditCursor) : undefined;
      const filter = {
        region: cursor?.region ?? region,
        actorType: query.actor_type,
        actorId: query.actor_id,
        action: query.action,
        resource: query.resource,
        result: query.result,
        tenantId: query.tenant_id,
        requestId: query.request_id,
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
      };
      audit.metadata = { filter: { ...query, cursor: undefined } };
      const { entries, more } = await queryAudit(await deps.db.read(), filter, query.limit, cursor?.seq);
      const last = entries.at(-1);
      return c.json({
        object: "list",
        data: entries,
        next_cursor: more && last ? encodeCursor({ region: filter.region, seq: last.seq }) : null,
      });
    })
    .get("/audit/verify", async (c) => {
      const audit = auditDetail(c);
      const region = parseOrThrow(verifyQuery, c.req.query()).region ?? deps.audit.region;
      Object.assign(audit, { action: auditActions.auditVerify, resource: `audit:${region}` });
      // Events still queued in this process are written first, so the answer covers them.
      await deps.audit.flush();
      const result = await verifyChain(deps.db.write, region, checkpointSecret);
      audit.metadata = { ok: result.ok, events: result.events, ...(result.broken ? { broken_at: result.broken.seq } : {}) };
      return c.json({
        object: "audit.verification",
        region: result.region,
        ok: result.ok,
        events: result.events,
        head_seq: result.head?.seq ?? null,
        head_hash: result.head?.hash ?? null,
        checkpoints: result.checkpoints,
        broken_at: result.broken?.seq ?? null,
        reason: result.broken?.reason ?? null,
      });
    });
}
