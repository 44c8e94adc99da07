import type { Context } from "@opentelemetry/api";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../../shared/contract/embeddings.ts";
import type { RequestBody, UpstreamResponse } from "./transport.ts";

/** What a model is, and so which endpoints it serves (`endpoints.ts`). */
export type ModelKind = "chat" | "embeddings" | "completions" | "images" | "transcription" | "speech" | "moderation";

/** Endpoints an adapter forwards as they are: only the model's name is changed on the way. */
export type ForwardedEndpoint = "responses" | "completions" | "images" | "transcription" | "speech" | "moderation";

/** What a request asks of a model: chat models also serve the Responses API. */
export type RequestKind = ModelKind | "responses";

/** A request to a forwarded endpoint, its `model` already the provider's own name. */
export interface ForwardedCall {
  endpoint: ForwardedEndpoint;
  /** JSON text, or the bytes of a multipart form (in pieces: the client's upload around the target's `model`). */
  body: RequestBody;
  contentType: string;
  /** `text/event-stream` for a stream, else what the endpoint answers with. */
  accept: string;
}

export interface ProviderModel {
  /** The provider's own name for the model, without the `provider/` prefix. */
  id: string;
  kind: ModelKind;
  /** The model entry's own capabilities, over its provider's (see `ModelCapabilities`). */
  capabilities?: CapabilityOverrides;
}

/** `response_format` types a model may honour besides the default `text`. */
export type StructuredFormat = "json_object" | "json_schema";

/**
 * What a chat model takes of an OpenAI-shaped request: its provider type's defaults, then
 * the provider entry's `capabilities`, then the model entry's. Adapters leave out what a
 * model does not take when that changes nothing, and refuse it (400 naming the param) when
 * it would.
 */
export interface ModelCapabilities {
  /** Takes `stream_options` on a stream; without it, usage is what the stream reports, or counted. */
  streamOptions: boolean;
  /** Takes `temperature` and `top_p` in one request. */
  temperatureWithTopP: boolean;
  /** Continues a final assistant message (prefill) rather than answering after it or refusing it. */
  prefill: boolean;
  /** Takes `tools` and `tool_choice`. */
  tools: boolean;
  /** The `response_format` types it honours besides `text`; empty: it takes no `response_format` at all. */
  responseFormat: StructuredFormat[];
}

export type CapabilityOverrides = Partial<ModelCapabilities>;

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
  /** Called with a successful answer's headers, to learn the provider's rate-limit state (`x-ratelimit-*`, `anthropic-ratelimit-*`). */
  onRateLimitHeaders?: (header: (name: string) => string | null) => void;
  /** The `x-mock-fault` request header; only the mock provider honours it (tests, benches). */
  mockFault?: string;
  /** The attempt's trace context (with tracing off, the client's), whose `traceparent` the call carries. */
  trace?: Context;
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
  /**
   * What `model` (the provider's own name) takes, resolved from configuration. Optional so
   * hand-written test providers need not say; `capabilitiesOf` reads it with a fallback.
   */
  capabilities?(model: string): ModelCapabilities;
  chat(request: ProviderChatRequest, context: CallContext): Promise<ChatCompletion>;
  /** Chunks in OpenAI's shape; the iterator ends after the last chunk (no `[DONE]` marker). */
  chatStream(request: ProviderChatRequest, context: CallContext): Promise<AsyncIterable<ChatCompletionChunk>>;
  embeddings(request: ProviderEmbeddingsRequest, context: CallContext): Promise<EmbeddingsResponse>;
  /** Whether it forwards `endpoint`; a provider without it forwards none. */
  offers?(endpoint: ForwardedEndpoint): boolean;
  /** Sends a forwarded endpoint's request; the answer (2xx only, else a `GatewayError`) is read by the caller. */
  forward?(call: ForwardedCall, context: CallContext): Promise<UpstreamResponse>;
}
