import type { ChatCompletion, ChatCompletionChunk } from "../../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../../shared/contract/embeddings.ts";
import { GatewayError } from "../../../shared/error.ts";
import { parseSse } from "../../../shared/sse.ts";
import { callUpstream, jsonBody, nodeTransport, type Transport } from "../http.ts";
import { reportMalformedChunk } from "../malformed-chunk.ts";
import { requestBody } from "../request-body.ts";
import type { CallContext, Provider, ProviderModel } from "../types.ts";
import { upstreamError } from "../upstream-error.ts";

export interface OpenAiOptions {
  /** The name clients prefix models with, e.g. `openai` or `groq`. */
  name: string;
  /** Base URL up to and including `/v1`. */
  baseUrl: string;
  /** Sent as a Bearer token; unset for servers that take none (a local vLLM or Ollama). */
  apiKey?: string;
  /** More headers for every request (e.g. `OpenAI-Organization`); they cannot replace the protocol's own. */
  headers?: Record<string, string>;
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
  const auth: Record<string, string> = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
  const headers = { ...options.headers, ...auth, "content-type": "application/json", accept: "application/json" };
  const post = (path: string, body: unknown, context: CallContext) =>
    callUpstream(options.name, transport, { url: `${baseUrl}${path}`, method: "POST", headers, body: requestBody(body) }, context, upstreamError);

  return {
    name: options.name,
    models: () => options.models,

    async chat(request, context) {
      return await jsonBody<ChatCompletion>(options.name, await post("/chat/completions", { ...request, stream: false }, context), context);
    },

    async chatStream(request, context) {
      const response = await post("/chat/completions", { ...request, stream: true }, context);
      return chunksOf(options.name, response.body, context);
    },

    async embeddings(request, context) {
      return await jsonBody<EmbeddingsResponse>(options.name, await post("/embeddings", request, context), context);
    },
  };
}

/**
 * The upstream's SSE events as chunks. One that cannot be read (not JSON, or no `choices`
 * array for the routes to read) is skipped and reported through `onMalformedChunk`, and the
 * stream goes on: one bad chunk should not cost the client the whole answer. An error the
 * provider sends mid-stream, or a broken body, still fails the stream.
 */
async function* chunksOf(provider: string, body: AsyncIterable<Uint8Array>, context: CallContext): AsyncGenerator<ChatCompletionChunk> {
  try {
    for await (const event of parseSse(body)) {
      if (event.data === "[DONE]") return;
      const chunk = parseJson(event.data);
      if (isObject(chunk) && "error" in chunk) {
        throw new GatewayError("upstream_error", { message: `${provider} failed mid-stream: ${JSON.stringify(chunk.error)}` });
      }
      if (isObject(chunk) && Array.isArray(chunk.choices)) yield chunk as unknown as ChatCompletionChunk;
      else reportMalformedChunk(context, event.data);
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    if (context.signal.aborted) throw context.signal.reason ?? error;
    throw new GatewayError("upstream_error", { message: `${provider} broke off the stream.`, cause: error });
  }
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
