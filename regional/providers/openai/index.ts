import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../../shared/contract/embeddings.ts";
import { GatewayError } from "../../../shared/error.ts";
import { parseSse } from "../../../shared/sse.ts";
import { streamedUsage } from "../../usage/streamed-usage.ts";
import { capabilityResolver, fitToCapabilities } from "../capabilities.ts";
import { forwardedEndpoints } from "../endpoints.ts";
import { callUpstream, jsonBody, nodeTransport, type Transport } from "../http.ts";
import { reportMalformedChunk } from "../malformed-chunk.ts";
import { requestBody } from "../request-body.ts";
import type { CallContext, CapabilityOverrides, ModelCapabilities, Provider, ProviderModel } from "../types.ts";
import { upstreamError } from "../upstream-error.ts";

/**
 * What an OpenAI-compatible backend is taken to accept unless its entry says otherwise:
 * OpenAI's API as documented. Prefill is opt-in: OpenAI answers after a final assistant
 * message rather than continuing it; some servers (vLLM, DeepSeek, Mistral) can continue.
 */
export const openAiDefaults: ModelCapabilities = {
  streamOptions: true,
  temperatureWithTopP: true,
  prefill: false,
  tools: true,
  responseFormat: ["json_object", "json_schema"],
};

export interface OpenAiOptions {
  /** The name clients prefix models with, e.g. `openai` or `groq`. */
  name: string;
  /** Base URL up to and including `/v1`. */
  baseUrl: string;
  /** Sent as a Bearer token; unset for servers that take none (a local vLLM or Ollama). A function is read on every call (a rotating secret). */
  apiKey?: string | (() => string);
  /** More headers for every request (e.g. `OpenAI-Organization`); they cannot replace the protocol's own. */
  headers?: Record<string, string>;
  models: ProviderModel[];
  /** For every model, over `openAiDefaults`; each model entry may override them again. */
  capabilities?: CapabilityOverrides;
  /** How requests leave; the mock provider passes its in-process wire-format server here. */
  transport?: Transport;
}

/**
 * Any OpenAI-compatible API (OpenAI, Azure, Groq, Together, vLLM, Ollama...). Requests go
 * out with the gateway's own key; nothing of the client's credentials is forwarded.
 */
export function createOpenAiProvider(options: OpenAiOptions): Provider {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const transport = options.transport ?? nodeTransport();
  const apiKey = options.apiKey;
  const auth = (): Record<string, string> =>
    apiKey === undefined ? {} : { authorization: `Bearer ${typeof apiKey === "function" ? apiKey() : apiKey}` };
  const headers = { ...options.headers, "content-type": "application/json", accept: "application/json" };
  const post = (path: string, body: unknown, context: CallContext) =>
    callUpstream(
      options.name,
      transport,
      { url: `${baseUrl}${path}`, method: "POST", headers: { ...headers, ...auth() }, body: requestBody(body) },
      context,
      upstreamError,
    );

  const capabilities = capabilityResolver(() => openAiDefaults, options.capabilities, options.models);
  const fit = (request: ChatCompletionRequest) =>
    fitToCapabilities(request, capabilities(request.model), `${options.name}/${request.model}`);

  return {
    name: options.name,
    models: () => options.models,
    capabilities,

    async chat(request, context) {
      return await jsonBody<ChatCompletion>(
        options.name,
        await post("/chat/completions", fit({ ...request, stream: false }), context),
        context,
      );
    },

    async chatStream(request, context) {
      const body = fit({ ...request, stream: true });
      const response = await post("/chat/completions", body, context);
      // Usage was asked for but the backend takes no `stream_options`: what it does not report is counted, as for a cut stream.
      const countUsage = request.stream_options?.include_usage === true && body.stream_options === undefined;
      return chunksOf(options.name, response.body, context, countUsage ? body : undefined);
    },

    async embeddings(request, context) {
      return await jsonBody<EmbeddingsResponse>(options.name, await post("/embeddings", request, context), context);
    },

    offers: () => true,

    // The body goes as the client sent it (its model renamed): the upstream speaks the same API.
    async forward(call, context) {
      const request = {
        url: `${baseUrl}${forwardedEndpoints[call.endpoint].path}`,
        method: "POST" as const,
        headers: { ...options.headers, "content-type": call.contentType, accept: call.accept, ...auth() },
        body: call.body,
      };
      return await callUpstream(options.name, transport, request, context, upstreamError);
    },
  };
}

/**
 * The upstream's SSE events as chunks. One that cannot be read (not JSON, or no `choices`
 * array for the routes to read) is skipped and reported through `onMalformedChunk`, and the
 * stream goes on: one bad chunk should not cost the client the whole answer. An error the
 * provider sends mid-stream, or a broken body, still fails the stream. Given `countFor`, a
 * stream that ends without reporting usage gets a last chunk with usage counted from it.
 */
async function* chunksOf(
  provider: string,
  body: AsyncIterable<Uint8Array>,
  context: CallContext,
  countFor?: ChatCompletionRequest,
): AsyncGenerator<ChatCompletionChunk> {
  let last: ChatCompletionChunk | undefined;
  let reported = false;
  let streamedChars = 0;
  const counted = (): ChatCompletionChunk[] => {
    if (!countFor || !last || reported) return [];
    const { id, object, created, model, system_fingerprint: fingerprint } = last;
    return [
      { id, object, created, model, system_fingerprint: fingerprint ?? null, choices: [], usage: streamedUsage(countFor, streamedChars) },
    ];
  };
  try {
    for await (const event of parseSse(body)) {
      if (event.data === "[DONE]") {
        yield* counted();
        return;
      }
      const chunk = parseJson(event.data);
      if (isObject(chunk) && "error" in chunk) {
        throw new GatewayError("upstream_error", { message: `${provider} failed mid-stream: ${JSON.stringify(chunk.error)}` });
      }
      if (isObject(chunk) && Array.isArray(chunk.choices)) {
        last = chunk as unknown as ChatCompletionChunk;
        if (isObject(chunk.usage)) reported = true;
        for (const choice of last.choices)
          streamedChars +=
            (choice.delta?.content?.length ?? 0) +
            (choice.delta?.tool_calls === undefined ? 0 : JSON.stringify(choice.delta.tool_calls).length);
        yield last;
      } else reportMalformedChunk(context, event.data);
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    if (context.signal.aborted) throw context.signal.reason ?? error;
    throw new GatewayError("upstream_error", { message: `${provider} broke off the stream.`, cause: error });
  }
  yield* counted();
}

/** The value of JSON text; undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
