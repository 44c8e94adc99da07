import type { Health, PublicStatus, StatusComponent, StatusIncident } from "../../shared/status/types.ts";
import type { BreakerView } from "../resilience/breakers.ts";
import type { Router } from "../routing/router.ts";

const dayMs = 24 * 60 * 60 * 1000;
export const incidentWindowMs = dayMs;

const worst = (healths: Health[]): Health => (healths.includes("down") ? "down" : healths.includes("degraded") ? "degraded" : "healthy");

interface Judged {
  status: Health;
  /** Since when, when the breaker says (its opening). */
  openedAt: number | null;
  note: string | null;
}

const healthy: Judged = { status: "healthy", openedAt: null, note: null };

/** One breaker: open (or held open) is down, half-open is degraded (probing), closed is healthy. */
function judgeBreaker(breaker: BreakerView | undefined): Judged {
  if (!breaker) return healthy;
  const { state } = breaker;
  if (state.forced === "open") return { status: "down", openedAt: state.openedAt, note: "taken out of service by an operator" };
  if (state.status === "open") return { status: "down", openedAt: state.openedAt, note: "circuit open: calls are not sent" };
  if (state.status === "half_open") return { status: "degraded", openedAt: state.openedAt, note: "recovering: trial calls only" };
  return healthy;
}

const worstJudged = (judged: Judged[]): Judged => judged.reduce((a, b) => (worst([a.status, b.status]) === a.status ? a : b), healthy);

/**
 * Each route and provider as users see it, from this process's breakers and cool-downs; "since"
 * from the last incident of that subject in the last 24 h (or the breaker's own opening).
 */
export function publicStatus(router: Router, incidents: StatusIncident[], now: number): PublicStatus {
  const breakers = new Map(router.breakers.list().map((breaker) => [breaker.id, breaker]));
  const cooling = new Map(router.coolDowns.list(router.now()).map(({ key, until }) => [key, until]));

  const target = (provider: string, key: string): Judged => {
    const judged = worstJudged([judgeBreaker(breakers.get(provider)), judgeBreaker(breakers.get(key))]);
    if (judged.status === "healthy" && cooling.has(key)) return { status: "degraded", openedAt: null, note: "rate limited: cooling down" };
    return judged;
  };

  const lastChange = (subjects: string[], judged: Judged): string | null => {
    const incident = incidents.find((candidate) => subjects.includes(candidate.subject));
    if (incident) return incident.at;
    return judged.openedAt === null ? null : new Date(judged.openedAt).toISOString();
  };

  const providers: StatusComponent[] = router.planner.providers().map(({ name }) => {
    const own = judgeBreaker(breakers.get(name));
    const models = [...breakers.keys()].filter((id) => id.startsWith(`${name}/`));
    const modelsDown = models.filter((id) => target(name, id).status !== "healthy");
    const judged: Judged =
      own.status === "healthy" && modelsDown.length > 0
        ? { status: "degraded", openedAt: null, note: `trouble with ${modelsDown.join(", ")}` }
        : own;
    return { kind: "provider", name, status: judged.status, since: lastChange([name, ...models], judged), note: judged.note };
  });

  const strategies = router.planner.strategies();
  const routeTargets: Array<{ route: string; targets: Array<{ provider: string; key: string }> }> =
    strategies.length > 0
      ? strategies.map(({ route, targets }) => ({ route, targets: targets.map((t) => ({ provider: t.provider.name, key: t.key })) }))
      : // Without a routes file every provider/model is a route of its own.
        router.planner.models().map(({ id }) => ({ route: id, targets: [{ provider: id.split("/")[0] ?? id, key: id }] }));

  const routes: StatusComponent[] = routeTargets.map(({ route, targets }) => {
    const judged = targets.map((t) => target(t.provider, t.key));
    const down = judged.filter((j) => j.status === "down").length;
    const first = judged[0] ?? healthy;
    const overall: Judged =
      down === judged.length && judged.length > 0
        ? worstJudged(judged)
        : first.status !== "healthy"
          ? { status: "degraded", openedAt: first.openedAt, note: "served by a fallback provider" }
          : down > 0
            ? { status: "degraded", openedAt: null, note: "a fallback provider is down" }
            : healthy;
    const subjects = targets.flatMap((t) => [t.provider, t.key]);
    return { kind: "route", name: route, status: overall.status, since: lastChange(subjects, overall), note: overall.note };
  });

  const components = [...routes, ...providers];
  return {
    object: "status",
    generated_at: new Date(now).toISOString(),
    status: worst(components.map((component) => component.status)),
    components,
    incidents,
  };
}
