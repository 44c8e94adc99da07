import type { Model } from "../../shared/contract/models.ts";
import { GatewayError } from "../../shared/error.ts";
import { labelOf, offers, servingKind } from "./endpoints.ts";
import type { ModelKind, Provider, RequestKind } from "./types.ts";

export interface ResolvedModel {
  provider: Provider;
  /** The provider's own model name. */
  model: string;
}

export interface Registry {
  /** The model if it serves `kind`: 404 `model_not_found` for an unknown one, 400 (param `model`) for one that does not serve it. */
  resolve(model: string, kind: RequestKind): ResolvedModel;
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
      if (known !== servingKind(kind)) throw notServed(name, kind);
      if (!offers(provider, kind)) throw notOffered(name, provider.name, kind);
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

export const notServed = (model: string, kind: RequestKind): GatewayError =>
  new GatewayError("invalid_request", { message: `The model '${model}' does not support ${labelOf(kind)}.`, param: "model" });

export const notOffered = (model: string, provider: string, kind: RequestKind): GatewayError =>
  new GatewayError("invalid_request", {
    message: `The model '${model}' cannot be used for ${labelOf(kind)}: provider '${provider}' does not offer it.`,
    param: "model",
  });
