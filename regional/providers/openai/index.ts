import type { ChatCompletion, ChatCompletionChunk } from "../../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../../shared/contract/embeddings.ts";
import { GatewayError } from "../../../shared/error.ts";
import { parseSse } from "../../../shared/sse.ts";
import type { CallContext, Provider, ProviderModel } from "../types.ts";
import { transportError, upstreamError } from "../upstream-error.ts";

export interface OpenAiOptions {
  /** The name clients prefix models with, e.g. `openai` or `groq`. */
  name: string;
  /** Base URL up to and including `/v1`. */
  baseUrl: string;
  apiKey: string;
  models: ProviderModel[];
  /** How requests leave; the mock provider passes its in-process wire-format server here. */
  fetch?: typeof fetch;
}

/**
 * Any OpenAI-compatible API (OpenAI, Azure, Groq, Together, vLLM, Ollama...). Requests go
 * out with the gateway's own key; nothing of the client's credentials is forwarded.
 */
export function createOpenAiProvider(options: OpenAiOptions): Provider {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const send = options.fetch ?? fetch;
  const headers = { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json", accept: "application/json" };

  async function post(path: string, body: unknown, context: CallContext): Promise<Response> {
    let response: Response;
    try {
      response = await send(`${baseUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: context.signal });
    } catch (error) {
      throw transportError(options.name, error, context.signal);
    }
    context.onHeaders?.();
    if (!response.ok) throw await upstreamError(options.name, response);
    return response;
  }

  async function json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new GatewayError("upstream_error", { message: `${options.name} answered with a malformed body.`, cause: error });
    }
  }

  return {
    name: options.name,
    models: () => options.models,

    async chat(request, context) {
      return json<ChatCompletion>(await post("/chat/completions", { ...request, stream: false }, context));
    },

    async chatStream(request, context) {
      const response = await post("/chat/completions", { ...request, stream: true }, context);
      if (!response.body) throw new GatewayError("upstream_error", { message: `${options.name} sent no stream.` });
      return chunksOf(options.name, response.body);
    },

    async embeddings(request, context) {
      return json<EmbeddingsResponse>(await post("/embeddings", request, context));
    },
  };
}

async function* chunksOf(provider: string, body: ReadableStream<Uint8Array>): AsyncGenerator<ChatCompletionChunk> {
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
}
