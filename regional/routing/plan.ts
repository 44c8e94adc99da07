import type { Model } from "../../shared/contract/models.ts";
import type { ConcurrencyLimits } from "../capacity/capacity.ts";
import { offers, servingKind } from "../providers/endpoints.ts";
import { notOffered, notServed, type Registry } from "../providers/registry.ts";
import type { ModelKind, Provider, RequestKind } from "../providers/types.ts";
import type { BalancingView, Picker } from "./balancing/picker.ts";
import { createPicker } from "./balancing/pickers.ts";
import type { BalancingStrategy } from "./balancing/strategy.ts";
import { defaultCallPolicy, mergePolicy, type CallPolicy } from "./policy.ts";
import type { RouteConfig, RoutesFile } from "../routes-file.ts";

export interface PlannedTarget {
  provider: Provider;
  model: string;
  /** `provider/model`: what its breaker, cool-down, capacity and latency are kept under. */
  key: string;
  weight: number;
  contextWindow?: number;
  policy: CallPolicy;
  /** `maxConcurrent` of its provider and of its model. */
  limits: ConcurrencyLimits;
}

export interface Plan {
  /** In the order to try them: the route's strategy put the first first. */
  targets: readonly PlannedTarget[];
  fallbackOnContentPolicy: boolean;
  /** A stream that breaks after content reached the client may be continued on another target. */
  continueOnBreak: boolean;
}

/** A route's load-balancing strategy: as the routes file says, and as in force now. */
export interface RouteStrategy {
  route: string;
  strategy: BalancingStrategy;
  configured: BalancingStrategy;
  /** In the routes file's order. */
  targets: readonly PlannedTarget[];
}

export interface Planner {
  /** The targets for `model`, ordered by its route's strategy over the router's view of them. */
  plan(model: string, kind: RequestKind, view?: BalancingView<PlannedTarget>): Plan;
  /** Routes, then every provider model, as `/v1/models` lists them. */
  models(): Model[];
  /** Every provider with its own policy (before route overrides). */
  providers(): Array<{ name: string; policy: CallPolicy }>;
  /** Each route's strategy, in the routes file's order. */
  strategies(): RouteStrategy[];
  /** Changes a route's strategy in this instance until it restarts; undefined when there is no such route. */
  setStrategy(route: string, strategy: BalancingStrategy): RouteStrategy | undefined;
}

/** Without the router's view: every target ready and idle. */
const idleView: BalancingView<PlannedTarget> = { ready: () => true, inFlight: () => 0, latencyMs: () => 0, random: Math.random };

/**
 * Turns the model a client names into the targets to try: a configured route, or a plain
 * `provider/model`. Targets and policies are checked once, at start-up.
 */
export function createPlanner(registry: Registry, file: RoutesFile, created = Math.floor(Date.now() / 1000)): Planner {
  const providerPolicy = (name: string) => mergePolicy(defaultCallPolicy, file.providers[name]);
  const limitsOf = (provider: string, model: string): ConcurrencyLimits => {
    const entry = Object.hasOwn(file.providers, provider) ? file.providers[provider] : undefined;
    const models = entry?.type === "openai" || entry?.type === "anthropic" ? entry.models : [];
    return { provider: entry?.limits?.maxConcurrent, model: models.find((listed) => listed.id === model)?.limits?.maxConcurrent };
  };

  interface Route {
    config: RouteConfig;
    kind: ModelKind;
    targets: PlannedTarget[];
    strategy: BalancingStrategy;
    picker: Picker;
  }
  const routes = new Map<string, Route>();
  for (const [name, config] of Object.entries(file.routes)) {
    const targets = config.targets.map((target, index) => {
      const where = `routes.${name}.targets.${index}`;
      let resolved;
      try {
        resolved = registry.resolveAny(`${target.provider}/${target.model}`);
      } catch {
        throw new Error(`Routes file: ${where}: no provider serves '${target.provider}/${target.model}'`);
      }
      return {
        ...resolved,
        key: `${resolved.provider.name}/${resolved.model}`,
        weight: target.weight ?? 1,
        contextWindow: target.contextWindow,
        policy: mergePolicy(providerPolicy(target.provider), config),
        limits: limitsOf(resolved.provider.name, resolved.model),
      };
    });
    const kinds = new Set(targets.map((target) => target.kind));
    if (kinds.size > 1) throw new Error(`Routes file: routes.${name}: mixes models of kinds ${[...kinds].join(", ")}`);
    routes.set(name, {
      config,
      kind: targets[0]?.kind ?? "chat",
      targets: targets.map(({ kind: _, ...target }) => target),
      strategy: config.strategy,
      picker: createPicker(config.strategy),
    });
  }
  const strategyOf = (name: string, route: Route): RouteStrategy => ({
    route: name,
    strategy: route.strategy,
    configured: route.config.strategy,
    targets: route.targets,
  });

  return {
    plan(model, kind, view = idleView) {
      const route = routes.get(model);
      if (!route) {
        const { provider, model: providerModel } = registry.resolve(model, kind);
        return {
          targets: [
            {
              provider,
              model: providerModel,
              key: `${provider.name}/${providerModel}`,
              weight: 1,
              policy: providerPolicy(provider.name),
              limits: limitsOf(provider.name, providerModel),
            },
          ],
          fallbackOnContentPolicy: false,
          continueOnBreak: false,
        };
      }
      if (route.kind !== servingKind(kind)) throw notServed(model, kind);
      // A route's targets whose adapter cannot make the request are left out (Anthropic has no Responses API).
      const able = route.targets.filter((target) => offers(target.provider, kind));
      const first = route.targets[0];
      if (able.length === 0 && first) throw notOffered(model, first.provider.name, kind);
      return {
        targets: route.picker.order(able, view),
        fallbackOnContentPolicy: route.config.fallbackOnContentPolicy,
        continueOnBreak: route.config.continueOnBreak,
      };
    },

    providers: () => registry.providers().map((provider) => ({ name: provider.name, policy: providerPolicy(provider.name) })),

    models() {
      const routeModels = [...routes.keys()].map((id) => ({ id, object: "model" as const, created, owned_by: "breakwater" }));
      return [...routeModels, ...registry.list()];
    },

    strategies: () => [...routes].map(([name, route]) => strategyOf(name, route)),

    setStrategy(name, strategy) {
      const route = routes.get(name);
      if (!route) return undefined;
      // A fresh picker: a round-robin turn or draw state of the old strategy means nothing to the new one.
      if (route.strategy !== strategy) Object.assign(route, { strategy, picker: createPicker(strategy) });
      return strategyOf(name, route);
    },
  };
}
