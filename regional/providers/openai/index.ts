import type { ChatCompletion, ChatCompletionChunk } from "../../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../../shared/contract/embeddings.ts";
import { GatewayError } from "../../../shared/error.ts";
import { parseSse } from "../../../shared/sse.ts";
import { callUpstream, jsonBody, nodeTransport, type Transport } from "../http.ts";
import type { CallContext, Provider, ProviderModel } from "../types.ts";
import { upstreamError } from "../upstream-error.ts";

export interface OpenAiOptions {
  /** The name clients prefix models with, e.g. `openai` or `groq`. */
  name: string;
  /** Base URL up to and including `/v1`. */
  baseUrl: string;
  apiKey: string;
  models: ProviderModel[];
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
  const headers = { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json", accept: "application/json" };
  const post = (path: string, body: unknown, context: CallContext) =>
    callUpstream(options.name, transport, { url: `${baseUrl}${path}`, method: "POST", headers, body: JSON.stringify(body) }, context, upstreamError);

  return {
    name: options.name,
    models: () => options.models,

    async chat(request, context) {
      return await jsonBody<ChatCompletion>(options.name, await post("/chat/completions", { ...request, stream: false }, context), context);
    },

    async chatStream(request, context) {
      const response = await post("/chat/completions", { ...request, stream: true }, context);
      return chunksOf(options.name, response.body, context.signal);
    },

    async embeddings(request, context) {
      return await jsonBody<EmbeddingsResponse>(options.name, await post("/embeddings", request, context), context);
    },
  };
}

async function* chunksOf(provider: string, body: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
  try {
    for await (const event of parseSse(body)) {
      if (event.data === "[DONE]") return;
      let chunk: unknown;
      try {
        chunk = JSON.parse(event.data);
      } catch (error) {
        throw new GatewayError("upstream_error", { message: `${provider} sent a malformed stream chunk.`, cause: error });
      }
      if (chunk && typeof chunk === "object" && "error" in chunk) {
        throw new GatewayError("upstream_error", { message: `${provider} failed mid-stream: ${JSON.stringify((chunk as { error: unknown }).error)}` });
      }
      yield chunk as ChatCompletionChunk;
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    if (signal.aborted) throw signal.reason ?? error;
    throw new GatewayError("upstream_error", { message: `${provider} broke off the stream.`, cause: error });
  }
}
