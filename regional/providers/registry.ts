import type { Model } from "../../shared/contract/models.ts";
import { GatewayError } from "../../shared/error.ts";
import type { ModelKind, Provider } from "./types.ts";

export interface ResolvedModel {
  provider: Provider;
  /** The provider's own model name. */
  model: string;
}

export interface Registry {
  resolve(model: string, kind: ModelKind): ResolvedModel;
  /** Like `resolve`, for any kind; says which kind the model is. */
  resolveAny(model: string): ResolvedModel & { kind: ModelKind };
  list(): Model[];
  providers(): Provider[];
}

/** Maps `provider/model` names to the adapter that serves them. */
export function createRegistry(providers: Provider[], created = Math.floor(Date.now() / 1000)): Registry {
  const byName = new Map(providers.map((provider) => [provider.name, provider]));

  function resolveAny(name: string): ResolvedModel & { kind: ModelKind } {
    const slash = name.indexOf("/");
    const provider = slash > 0 ? byName.get(name.slice(0, slash)) : undefined;
    const model = name.slice(slash + 1);
    const known = provider?.models().find((candidate) => candidate.id === model);
    if (!provider || !known) {
      throw new GatewayError("model_not_found", { message: `The model '${name}' does not exist.`, param: "model" });
    }
    return { provider, model, kind: known.kind };
  }

  return {
    resolveAny,
    resolve(name, kind) {
      const { provider, model, kind: known } = resolveAny(name);
      if (known !== kind) {
        throw new GatewayError("invalid_request", {
          message: `The model '${name}' does not support ${kind === "chat" ? "chat completions" : "embeddings"}.`,
          param: "model",
        });
      }
      return { provider, model };
    },

    providers: () => providers,

    list() {
      return providers.flatMap((provider) =>
        provider
          .models()
          .map((model) => ({ id: `${provider.name}/${model.id}`, object: "model" as const, created, owned_by: provider.name })),
      );
    },
  };
}
