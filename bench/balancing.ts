import { pathToFileURL } from "node:url";
import { createCapacity } from "../regional/capacity/capacity.ts";
import { createLogger } from "../regional/logger.ts";
import { createRegistry } from "../regional/providers/registry.ts";
import type { Provider } from "../regional/providers/types.ts";
import { createBreakers } from "../regional/resilience/breakers.ts";
import { createLatencyEwma } from "../regional/routing/balancing/latency-ewma.ts";
import { routerView } from "../regional/routing/balancing/router-view.ts";
import { balancingStrategies } from "../regional/routing/balancing/strategy.ts";
import { createPlanner } from "../regional/routing/plan.ts";
import { parseRoutes } from "../regional/routes-file.ts";
import { createCoolDowns } from "../shared/resilience/cool-down.ts";
import { formatMicro, microsecondsPerOpSync, type MicroResult } from "./micro.ts";

function stubProvider(name: string): Provider {
  const unused = () => Promise.reject(new Error("not called by the bench"));
  return { name, models: () => [{ id: "m", kind: "chat" }], chat: unused, chatStream: unused, embeddings: unused };
}

/**
 * One pick per strategy: `planner.plan` ordering a four-target route over the router's own
 * view (breakers, cool-downs, capacity, latency), as every request does. One target is busy,
 * one has a latency on record and one is cooling down, so the ready-first split does work too.
 */
export function balancingFigures(iterations = 500_000): MicroResult[] {
  const names = ["p1", "p2", "p3", "p4"];
  const routes = Object.fromEntries(
    balancingStrategies.map((strategy) => [
      strategy,
      { strategy, targets: names.map((provider, index) => ({ provider, model: "m", weight: index + 1 })) },
    ]),
  );
  const planner = createPlanner(createRegistry(names.map(stubProvider)), parseRoutes({ routes }));
  let now = 1_000_000;
  const capacity = createCapacity(() => now);
  const coolDowns = createCoolDowns();
  const latency = createLatencyEwma();
  const view = routerView({
    capacity,
    coolDowns,
    breakers: createBreakers(createLogger("silent"), () => now),
    latency,
    now: () => now,
    random: Math.random,
  });
  const [busy, measured] = planner.plan("ordered", "chat").targets;
  if (busy) capacity.acquire(busy);
  if (measured) latency.record(measured.key, 120, now);
  coolDowns.cool("p4/m", 60_000, now);

  return balancingStrategies.map((strategy) => ({
    id: `pick: ${strategy}, 4 targets`,
    value: microsecondsPerOpSync(iterations, () => {
      now += 1;
      planner.plan(strategy, "chat", view);
    }),
    unit: "µs/op",
    aim: { op: "≤", value: 5 },
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(formatMicro(balancingFigures()));
