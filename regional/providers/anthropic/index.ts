import type { ChatCompletionRequest } from "../../../shared/contract/chat.ts";
import { GatewayError } from "../../../shared/error.ts";
import { capabilityResolver } from "../capabilities.ts";
import { callUpstream, jsonBody, nodeTransport, type Transport } from "../http.ts";
import { requestBody } from "../request-body.ts";
import type { CallContext, CapabilityOverrides, Provider, ProviderModel } from "../types.ts";
import { anthropicResponseError } from "./errors.ts";
import { anthropicCapabilities } from "./models.ts";
import { toMessagesRequest } from "./request.ts";
import { fromMessage } from "./response.ts";
import { chatChunksOf } from "./stream.ts";
import type { Message } from "./wire.ts";

export interface AnthropicOptions {
  /** The name clients prefix models with, e.g. `anthropic`. */
  name: string;
  /** Without `/v1`, as Anthropic's SDKs take it. */
  baseUrl?: string;
  /** A function is read on every call (a rotating secret). */
  apiKey: string | (() => string);
  /** More headers for every request (e.g. `anthropic-beta`); they cannot replace the protocol's own. */
  headers?: Record<string, string>;
  models: ProviderModel[];
  /** For every model, over what Anthropic documents per model (`models.ts`); each model entry may override them again. */
  capabilities?: CapabilityOverrides;
  /** How requests leave; the mock provider passes its in-process wire-format server here. */
  transport?: Transport;
  /** Sent as `max_tokens` when the client set none; Anthropic requires one. */
  defaultMaxTokens?: number;
  anthropicVersion?: string;
  /** Anthropic's answers carry no creation time; chunks and completions get this clock's. */
  now?: () => number;
}

/**
 * Anthropic's Messages API behind the OpenAI-shaped interface: requests, answers, stream
 * events and errors are translated both ways. Anthropic has no embeddings API.
 */
export function createAnthropicProvider(options: AnthropicOptions): Provider {
  const url = `${(options.baseUrl ?? "https://api.anthropic.com").replace(/\/+$/, "")}/v1/messages`;
  const transport = options.transport ?? nodeTransport();
  const now = options.now ?? Date.now;
  const maxTokens = options.defaultMaxTokens ?? 4096;
  const capabilities = capabilityResolver(anthropicCapabilities, options.capabilities, options.models);
  const translate = (request: ChatCompletionRequest) =>
    toMessagesRequest(request, { maxTokens, capabilities: capabilities(request.model), label: `${options.name}/${request.model}` });
  const key = options.apiKey;
  const apiKey = typeof key === "function" ? key : () => key;
  const headers = {
    ...options.headers,
    "anthropic-version": options.anthropicVersion ?? "2023-06-01",
    "content-type": "application/json",
    accept: "application/json",
  };

  const post = (body: unknown, context: CallContext) =>
    callUpstream(
      options.name,
      transport,
      { url, method: "POST", headers: { ...headers, "x-api-key": apiKey() }, body: requestBody(body) },
      context,
      anthropicResponseError,
    );

  const created = () => Math.floor(now() / 1000);

  return {
    name: options.name,
    models: () => options.models,
    capabilities,

    async chat(request, context) {
      const message = await jsonBody<Message>(options.name, await post(translate({ ...request, stream: false }), context), context);
      if (!Array.isArray(message?.content))
        throw new GatewayError("upstream_error", { message: `${options.name} answered without content.` });
      return fromMessage(message, created());
    },

    async chatStream(request, context) {
      const response = await post({ ...translate({ ...request, stream: true }), stream: true }, context);
      return chatChunksOf(response.body, {
        provider: options.name,
        created: created(),
        signal: context.signal,
        onMalformedChunk: context.onMalformedChunk,
      });
    },

    async embeddings() {
      throw new GatewayError("invalid_request", { message: `${options.name} has no embeddings API.`, param: "model" });
    },
  };
}
