import { Hono } from "hono";
import { z } from "zod";
import { probesInFlight } from "../../../shared/circuit-breaker.ts";
import { GatewayError } from "../../../shared/error.ts";
import type { AppDeps } from "../../deps.ts";
import { auditActions } from "../../audit/event.ts";
import { auditDetail } from "../../http/admin-audit.ts";
import type { AppEnv } from "../../http/context.ts";
import { readJson } from "../../http/json-body.ts";
import type { BreakerView } from "../../resilience/breakers.ts";

const forceRequest = z.strictObject({
  /** `open`/`closed` hold the breaker so; `auto` hands it back to the failure counts. */
  state: z.enum(["open", "closed", "auto"]),
});

function view(breaker: BreakerView) {
  const { state } = breaker;
  return {
    id: breaker.id,
    status: state.status,
    forced: state.forced,
    opened_at: state.openedAt === null ? null : new Date(state.openedAt).toISOString(),
    window: state.buckets.reduce((sum, [, ok, failed]) => ({ successes: sum.successes + ok, failures: sum.failures + failed }), {
      successes: 0,
      failures: 0,
    }),
    probes_in_flight: probesInFlight(state, Date.now()),
    transitions: breaker.transitions,
    policy: breaker.policy,
  };
}

/** `GET /admin/circuit-breakers` shows every breaker; `POST .../:id` forces one. */
export function circuitBreakersRoute(deps: AppDeps): Hono<AppEnv> {
  const breakers = deps.router.breakers;
  return new Hono<AppEnv>()
    .get("/circuit-breakers", (c) => c.json({ object: "list", data: breakers.list().map(view) }))
    .post("/circuit-breakers/:id{.+}", async (c) => {
      const id = c.req.param("id");
      const { state } = await readJson(c, forceRequest, deps.limits.maxBodyBytes);
      Object.assign(auditDetail(c), { action: auditActions.breakerForce, resource: `breaker:${id}`, metadata: { state } });
      if (!breakers.has(id)) throw new GatewayError("not_found", { message: `No circuit breaker '${id}'.` });
      const transition = breakers.force(id, state === "auto" ? null : state);
      // Handed back or held closed, the target is called again at once: its 429 cool-down ends too.
      if (state !== "open") deps.router.coolDowns.clear(id);
      deps.logger.warn("circuit breaker forced", { breaker: id, state, transition, requestId: c.get("requestId") });
      const forced = breakers.list().find((breaker) => breaker.id === id);
      return c.json(forced ? view(forced) : { id });
    });
}
