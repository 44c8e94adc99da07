import { Hono } from "hono";
import type { AppDeps } from "../../deps.ts";
import type { AppEnv } from "../../http/context.ts";
import { createTenantStore } from "../../tenants/tenant-store.ts";
import { auditRoute } from "./audit.ts";
import { budgetsRoute } from "./budgets.ts";
import { circuitBreakersRoute } from "./circuit-breakers.ts";
import { degradationRoute } from "./degradation.ts";
import { prioritiesRoute } from "./priorities.ts";
import { queueRoute } from "./queue.ts";
import { statusRoute } from "./status.ts";
import { keysRoute } from "./keys.ts";
import { loadBalancingRoute } from "./load-balancing.ts";
import { tenantsRoute } from "./tenants.ts";
import { usageRoute } from "./usage.ts";

/** The admin API, mounted under /admin behind adminAuth and adminAudit (see app.ts). */
export function adminRoute(deps: AppDeps): Hono<AppEnv> {
  const tenants = createTenantStore(deps.db);
  const admin = new Hono<AppEnv>()
    .route("/", tenantsRoute(deps, tenants))
    .route("/", keysRoute(deps, tenants))
    .route("/", budgetsRoute(deps))
    .route("/", auditRoute(deps, deps.admin.checkpointSecret))
    .route("/", usageRoute(deps))
    .route("/", circuitBreakersRoute(deps))
    .route("/", loadBalancingRoute(deps))
    .route("/", statusRoute(deps));
  if (deps.admission) {
    admin.route("/", queueRoute(deps.admission.queues));
    admin.route("/", degradationRoute(deps, deps.admission.degradations));
    admin.route("/", prioritiesRoute(deps, deps.admission.priorities));
  }
  return admin;
}
