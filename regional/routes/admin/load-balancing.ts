import { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../../shared/error.ts";
import { auditActions } from "../../audit/event.ts";
import type { AppDeps } from "../../deps.ts";
import { auditDetail } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";
import { balancingStrategies } from "../../routing/balancing/strategy.ts";
import type { RouteStrategy } from "../../routing/plan.ts";
import type { Router } from "../../routing/router.ts";

const strategyRequest = z.strictObject({
  route: z.string().min(1),
  strategy: z.enum(balancingStrategies),
});

/** A route's strategy and what it orders by, per target: calls in flight, limits, smoothed latency. */
function view(balancing: RouteStrategy, router: Router) {
  const now = router.now();
  return {
    route: balancing.route,
    strategy: balancing.strategy,
    configured: balancing.configured,
    targets: balancing.targets.map((target) => ({
      target: target.key,
      weight: target.weight,
      in_flight: router.capacity.inFlight(target),
      max_concurrent: target.limits.model ?? null,
      provider_max_concurrent: target.limits.provider ?? null,
      latency_ms: Math.round(router.latency.estimate(target.key, now)),
      rate_limit_resets_in_ms: router.capacity.exhaustedFor(target) || null,
    })),
  };
}

/**
 * `GET /admin/load-balancing` shows each route's strategy and the load it balances by; `PUT` changes one at run time.
 * The change lives in this instance's memory until it restarts (the routes file is not written).
 */
export function loadBalancingRoute(deps: AppDeps): Hono<AppEnv> {
  const { router } = deps;
  return new Hono<AppEnv>()
    .get("/load-balancing", (c) =>
      c.json({
        object: "list",
        data: router.planner.strategies().map((balancing) => view(balancing, router)),
        // Each provider's calls in flight across its models, against its own limit.
        providers: router.capacity.snapshot().providers.map((provider) => ({
          provider: provider.provider,
          in_flight: provider.inFlight,
          max_concurrent: provider.maxConcurrent ?? null,
        })),
      }),
    )
    .put("/load-balancing", async (c) => {
      const { route, strategy } = await readJson(c, strategyRequest, deps.limits.maxBodyBytes);
      const before = router.planner.strategies().find((balancing) => balancing.route === route)?.strategy;
      Object.assign(auditDetail(c), {
        action: auditActions.configChange,
        resource: `route:${route}`,
        metadata: { setting: "strategy", from: before ?? null, to: strategy },
      });
      const changed = router.planner.setStrategy(route, strategy);
      if (!changed) throw new GatewayError("not_found", { message: `No route '${route}' in the routes file.` });
      deps.logger.warn("load-balancing strategy changed", { route, from: before, to: strategy, requestId: c.get("requestId") });
      return c.json(view(changed, router));
    });
}
