import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../../shared/contract/embeddings.ts";

export type ModelKind = "chat" | "embeddings";

export interface ProviderModel {
  /** The provider's own name for the model, without the `provider/` prefix. */
  id: string;
  kind: ModelKind;
}

export interface CallContext {
  /** Aborts the upstream call: client gone, timeout or shutdown. */
  signal: AbortSignal;
  requestId: string;
  /** How long a new connection to the provider may take to open. */
  connectTimeoutMs?: number;
  /**
   * Called once the request is written to a connected socket, after any wait for a free
   * connection and the connect: from here on, time to the first byte is the provider's.
   */
  onSent?: () => void;
  /** Called when the provider's response headers arrive (the first-byte deadline). */
  onHeaders?: () => void;
  /** The `x-mock-fault` request header; only the mock provider honours it (tests, benches). */
  mockFault?: string;
  /**
   * Called for each stream chunk the provider sent that could not be read and was skipped
   * (the stream goes on). Only its size is given: the content is user data, never logged.
   */
  onMalformedChunk?: (detail: { bytes: number }) => void;
}

/** A request as an adapter receives it: `model` is already the provider's own name. */
export type ProviderChatRequest = ChatCompletionRequest;
export type ProviderEmbeddingsRequest = EmbeddingsRequest;

/**
 * One adapter per provider. Adapters translate the OpenAI-shaped request to the
 * provider's wire format and back, and raise `GatewayError`s for failures.
 */
export interface Provider {
  name: string;
  models(): ProviderModel[];
  chat(request: ProviderChatRequest, context: CallContext): Promise<ChatCompletion>;
  /** Chunks in OpenAI's shape; the iterator ends after the last chunk (no `[DONE]` marker). */
  chatStream(request: ProviderChatRequest, context: CallContext): Promise<AsyncIterable<ChatCompletionChunk>>;
  embeddings(request: ProviderEmbeddingsRequest, context: CallContext): Promise<EmbeddingsResponse>;
}
