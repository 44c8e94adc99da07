import type { CoolDowns } from "../../../shared/resilience/cool-down.ts";
import type { Capacity } from "../../capacity/capacity.ts";
import type { Breakers } from "../../resilience/breakers.ts";
import type { PlannedTarget } from "../plan.ts";
import type { LatencyEwma } from "./latency-ewma.ts";
import type { BalancingView } from "./picker.ts";

export interface ViewParts {
  capacity: Capacity;
  coolDowns: CoolDowns;
  breakers: Breakers;
  latency: LatencyEwma;
  now(): number;
  random(): number;
}

/** What strategies order by: a target is ready when its breakers are closed, it is not cooling down and it has room. */
export function routerView(parts: ViewParts): BalancingView<PlannedTarget> {
  const { capacity, coolDowns, breakers, latency, now } = parts;
  return {
    ready: (target) =>
      capacity.hasRoom(target) &&
      coolDowns.remaining(target.key, now()) === 0 &&
      breakers.openFor({ provider: target.provider.name, target: target.key }, target.policy.breaker) === 0,
    inFlight: (target) => capacity.inFlight(target),
    latencyMs: (target) => latency.estimate(target.key, now()),
    random: parts.random,
  };
}
