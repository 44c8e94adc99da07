import type { Model } from "../../shared/contract/models.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Registry } from "../providers/registry.ts";
import type { ModelKind, Provider } from "../providers/types.ts";
import { defaultCallPolicy, mergePolicy, type CallPolicy } from "./policy.ts";
import type { RouteConfig, RoutesFile } from "../routes-file.ts";

export interface PlannedTarget {
  provider: Provider;
  model: string;
  weight: number;
  contextWindow?: number;
  policy: CallPolicy;
}

export interface Plan {
  targets: PlannedTarget[];
  fallbackOnContentPolicy: boolean;
  /** A stream that breaks after content reached the client may be continued on another target. */
  continueOnBreak: boolean;
}

export interface Planner {
  plan(model: string, kind: ModelKind, random?: () => number): Plan;
  /** Routes, then every provider model, as `/v1/models` lists them. */
  models(): Model[];
  /** Every provider with its own policy (before route overrides). */
  providers(): Array<{ name: string; policy: CallPolicy }>;
}

/**
 * Turns the model a client names into the targets to try: a configured route, or a plain
 * `provider/model`. Targets and policies are checked once, at start-up.
 */
export function createPlanner(registry: Registry, file: RoutesFile, created = Math.floor(Date.now() / 1000)): Planner {
  const providerPolicy = (name: string) => mergePolicy(defaultCallPolicy, file.providers[name]);

  const routes = new Map<string, { config: RouteConfig; kind: ModelKind; targets: PlannedTarget[] }>();
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
        weight: target.weight ?? 1,
        contextWindow: target.contextWindow,
        policy: mergePolicy(providerPolicy(target.provider), config),
      };
    });
    const kinds = new Set(targets.map((target) => target.kind));
    if (kinds.size > 1) throw new Error(`Routes file: routes.${name}: mixes chat and embeddings models`);
    routes.set(name, { config, kind: targets[0]?.kind ?? "chat", targets: targets.map(({ kind: _, ...target }) => target) });
  }

  return {
    plan(model, kind, random = Math.random) {
      const route = routes.get(model);
      if (!route) {
        const { provider, model: providerModel } = registry.resolve(model, kind);
        return {
          targets: [{ provider, model: providerModel, weight: 1, policy: providerPolicy(provider.name) }],
          fallbackOnContentPolicy: false,
          continueOnBreak: false,
        };
      }
      if (route.kind !== kind) {
        throw new GatewayError("invalid_request", {
          message: `The model '${model}' does not support ${kind === "chat" ? "chat completions" : "embeddings"}.`,
          param: "model",
        });
      }
      const targets = route.config.strategy === "weighted" ? weightedFirst(route.targets, random) : route.targets;
      return { targets, fallbackOnContentPolicy: route.config.fallbackOnContentPolicy, continueOnBreak: route.config.continueOnBreak };
    },

    providers: () => registry.providers().map((provider) => ({ name: provider.name, policy: providerPolicy(provider.name) })),

    models() {
      const routeModels = [...routes.keys()].map((id) => ({ id, object: "model" as const, created, owned_by: "breakwater" }));
      return [...routeModels, ...registry.list()];
    },
  };
}

/** One target drawn by weight goes first; the others keep their order as fallbacks. */
function weightedFirst(targets: PlannedTarget[], random: () => number): PlannedTarget[] {
  const total = targets.reduce((sum, target) => sum + target.weight, 0);
  let draw = random() * total;
  const index = targets.findIndex((target) => (draw -= target.weight) < 0);
  const first = index < 0 ? targets.length - 1 : index;
  return [targets[first] as PlannedTarget, ...targets.filter((_, i) => i !== first)];
}
