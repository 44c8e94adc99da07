import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { auditDetail } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";
import { degradationSchema } from "../../routes-file.ts";
import type { Degradations } from "../../routing/degradation.ts";

const setDegradation = z.strictObject({
  route: z.string().min(1).max(300),
  /** Null takes the route back to answering its failures as they are. */
  degradation: degradationSchema.nullable(),
});

/**
 * `GET /admin/degradation` lists each route's degradation; `PUT` changes one at run time
 * (this instance, until restart: the routes file stays the lasting source), audited.
 */
export function degradationRoute(deps: AppDeps, degradations: Degradations): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/degradation", (c) => c.json({ object: "list", data: degradations.list() }))
    .put("/degradation", async (c) => {
      const audit = auditDetail(c);
      audit.action = auditActions.configChange;
      const { route, degradation } = await readJson(c, setDegradation, deps.limits.maxBodyBytes);
      Object.assign(audit, { resource: `route:${route}`, metadata: { after: degradation } });
      const before = degradations.set(route, degradation);
      audit.metadata = { before, after: degradation };
      deps.logger.warn("route degradation changed", { route, before, after: degradation, requestId: c.get("requestId") });
      return c.json({ route, degradation, before });
    });
}
