import { Hono } from "hono";
import { z } from "zod";
import { parseOrThrow } from "../../../shared/validation.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { auditDetail } from "../../http/admin-audit.ts";
import { isoDateTimeParam } from "../../http/pg-timestamp.ts";
import type { AppEnv } from "../../http/context.ts";
import { summariseUsage } from "../../usage/summary.ts";

/** The period runs from `since` to `until`; `from` and `to` are other names for the same bounds. */
export const usageQuery = z
  .object({
    tenant_id: z.uuid().optional(),
    since: isoDateTimeParam.optional(),
    until: isoDateTimeParam.optional(),
    from: isoDateTimeParam.optional(),
    to: isoDateTimeParam.optional(),
  })
  .superRefine((query, ctx) => {
    if (query.since !== undefined && query.from !== undefined)
      ctx.addIssue({ code: "custom", path: ["from"], message: "give since or from, not both" });
    if (query.until !== undefined && query.to !== undefined)
      ctx.addIssue({ code: "custom", path: ["to"], message: "give until or to, not both" });
  })
  .transform(({ tenant_id, since, until, from, to }) => ({ tenant_id, since: since ?? from, until: until ?? to }));

const dayMs = 24 * 60 * 60 * 1000;

/**
 * GET /usage: requests, errors, tokens, cost and latency per tenant, split by provider/model
 * and by key, over a window (default: the last 24 h).
 */
export function usageRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/usage", async (c) => {
    const audit = auditDetail(c);
    audit.action = auditActions.usageSummary;
    const query = parseOrThrow(usageQuery, c.req.query());
    Object.assign(audit, { tenantId: query.tenant_id ?? null, resource: query.tenant_id ? `tenant:${query.tenant_id}` : "usage" });
    // Rows still queued in this process count too.
    await deps.usage.flush();
    // The period is half-open, [since, until): by default it ends just past now, so a request
    // answered in this very millisecond is counted too.
    const until = query.until ? new Date(query.until) : new Date(Date.now() + 1);
    const since = query.since ? new Date(query.since) : new Date(until.getTime() - dayMs);
    const data = await summariseUsage(await deps.db.read(query.tenant_id), { tenantId: query.tenant_id, since, until });
    return c.json({ object: "usage.summary", since: since.toISOString(), until: until.toISOString(), data });
  });
}
