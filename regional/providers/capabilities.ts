import type { ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import type { CapabilityOverrides, ModelCapabilities, Provider, ProviderModel, StructuredFormat } from "./types.ts";

/** What a provider that does not say is taken to accept: OpenAI's API as it is, without prefill. */
export const assumedCapabilities: ModelCapabilities = {
  streamOptions: true,
  temperatureWithTopP: true,
  prefill: false,
  tools: true,
  responseFormat: ["json_object", "json_schema"],
};

/** What `model` (the provider's own name) accepts; the assumed capabilities when the provider does not say. */
export function capabilitiesOf(provider: Provider, model: string): ModelCapabilities {
  return provider.capabilities?.(model) ?? assumedCapabilities;
}

/** `base` with the fields `over` sets; a field given as undefined keeps the base's. */
function overlay(base: ModelCapabilities, over: CapabilityOverrides | undefined): ModelCapabilities {
  const given: CapabilityOverrides = Object.fromEntries(Object.entries(over ?? {}).filter(([, value]) => value !== undefined));
  return { ...base, ...given };
}

/**
 * A provider's `capabilities(model)`: its type's defaults (which may depend on the model),
 * then its entry's `capabilities`, then the model entry's own.
 */
export function capabilityResolver(
  defaults: (model: string) => ModelCapabilities,
  provider: CapabilityOverrides | undefined,
  models: ProviderModel[],
): (model: string) => ModelCapabilities {
  const own = new Map(models.map((model) => [model.id, model.capabilities]));
  return (model) => overlay(overlay(defaults(model), provider), own.get(model));
}

function refused(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", { message, param });
}

const isStructured = (format: string, accepted: StructuredFormat[]): boolean => (accepted as string[]).includes(format);

/**
 * The request as `model` (named `label` in messages) can take it. What it does not take is
 * left out only when leaving it out changes nothing — `stream_options` where usage is
 * counted instead, a neutral `top_p` or `temperature` of 1 (both APIs' default), `text` as
 * the response format — and refused as `invalid_request` naming the param otherwise.
 */
export function fitToCapabilities(request: ChatCompletionRequest, capabilities: ModelCapabilities, label: string): ChatCompletionRequest {
  const fitted: ChatCompletionRequest = { ...request };
  // OpenAI answers 400 to `stream_options` on a call that is not streamed.
  if (fitted.stream !== true || !capabilities.streamOptions) delete fitted.stream_options;

  if (typeof fitted.temperature === "number" && typeof fitted.top_p === "number" && !capabilities.temperatureWithTopP) {
    if (fitted.top_p === 1) delete fitted.top_p;
    else if (fitted.temperature === 1) delete fitted.temperature;
    else throw refused("top_p", `${label} does not take temperature and top_p together; set only one of them.`);
  }

  if (!capabilities.tools) {
    if (Array.isArray(fitted.tools) && fitted.tools.length > 0) throw refused("tools", `${label} does not take tools.`);
    if (fitted.tool_choice !== undefined && fitted.tool_choice !== "none") throw refused("tool_choice", `${label} does not take tools.`);
    delete fitted.tools;
    delete fitted.tool_choice;
  }

  const format = fitted.response_format?.type;
  if (format === "text" && capabilities.responseFormat.length === 0) delete fitted.response_format;
  else if (format !== undefined && format !== "text" && !isStructured(format, capabilities.responseFormat)) {
    const taken = capabilities.responseFormat.length > 0 ? ` (it takes ${["text", ...capabilities.responseFormat].join(", ")})` : "";
    throw refused("response_format", `${label} does not honour response_format '${format}'${taken}.`);
  }
  return fitted;
}
