/**
 * OpenAI's wire format as this upstream speaks it: chat completions (whole and SSE chunks),
 * embeddings, the model list and error bodies. Pure functions over plain data.
 */

export interface ChatRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  /** Every message's text: the prompt's token count. */
  texts: string[];
  lastUser: string;
  /** The final message's text when it is the assistant's: the start of the answer to continue. */
  prefill?: string;
}

export interface Answer {
  id: string;
  created: number;
  model: string;
  /** The content split into pieces, each a stream chunk; a plain answer joins them. */
  pieces: string[];
  promptTokens: number;
  finishReason: "stop" | "length";
}

type Json = Record<string, unknown>;

const objectOf = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => objectOf(part))
    .map((part) => (typeof part?.text === "string" ? part.text : ""))
    .join("");
}

/** One token a word: predictable numbers for tests, the right order of magnitude for limits. */
export const countTokens = (text: string): number => text.split(/\s+/).filter(Boolean).length;

/** The body's model, whatever else is wrong with it: requests are recorded with it. */
export function modelOf(body: unknown): string | null {
  const model = objectOf(body)?.model;
  return typeof model === "string" ? model : null;
}

export const streamOf = (body: unknown): boolean => objectOf(body)?.stream === true;

/** Reads a chat request; a string is what is wrong with it. */
export function readChat(body: unknown): ChatRequest | string {
  const request = objectOf(body);
  if (typeof request?.model !== "string") return "you must provide a model parameter";
  if (!Array.isArray(request.messages) || request.messages.length === 0) return "'messages' must be a non-empty array";
  const messages = request.messages.map((message) => objectOf(message) ?? {});
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  return {
    model: request.model,
    stream: request.stream === true,
    includeUsage: objectOf(request.stream_options)?.include_usage === true,
    ...(typeof maxTokens === "number" && maxTokens > 0 && { maxTokens }),
    texts: messages.map((message) => textOf(message.content)),
    lastUser: textOf(messages.findLast((message) => message.role === "user")?.content),
    ...(messages.at(-1)?.role === "assistant" && { prefill: textOf(messages.at(-1)?.content) }),
  };
}

/**
 * The answer names who gave it: `"<provider>/<model>: <last user message>"`, one piece per
 * word. `tokens` cuts it short or pads it with `" +<n>"` pieces; `max_tokens` cuts it too.
 */
export function answer(provider: string, request: ChatRequest, id: string, created: number, tokens?: number, text?: string): Answer {
  const whole = text ?? `${provider}/${request.model}: ${request.lastUser}`;
  // Prefilled: the rest of the answer after what the caller already has (as a model that continues it).
  const rest = request.prefill !== undefined && whole.startsWith(request.prefill) ? whole.slice(request.prefill.length) : whole;
  const words = rest.split(/(?<=\s)/).filter(Boolean);
  const wanted = tokens ?? words.length;
  const pieces = Array.from({ length: Math.min(wanted, request.maxTokens ?? wanted) }, (_, index) => pieceAt(words, index));
  return {
    id,
    created,
    model: request.model,
    pieces,
    promptTokens: request.texts.reduce((sum, text) => sum + countTokens(text), 0),
    finishReason: pieces.length < wanted ? "length" : "stop",
  };
}

/** Piece `index` of an answer, padding past its words: `holdStream` streams on with these. */
export function pieceAt(words: string[], index: number): string {
  return words[index] ?? ` +${index}`;
}

function usage(answer: Answer, completionTokens: number): Json {
  return { prompt_tokens: answer.promptTokens, completion_tokens: completionTokens, total_tokens: answer.promptTokens + completionTokens };
}

export function completion(answer: Answer): Json {
  return {
    id: answer.id,
    object: "chat.completion",
    created: answer.created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer.pieces.join(""), refusal: null },
        logprobs: null,
        finish_reason: answer.finishReason,
      },
    ],
    usage: usage(answer, answer.pieces.length),
    system_fingerprint: null,
  };
}

const frame = (data: Json | string) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

/** SSE frames of one stream; with `include_usage` every chunk carries `usage: null` but the last, as OpenAI sends them. */
export function streamFrames(answer: Answer, includeUsage: boolean) {
  const base = {
    id: answer.id,
    object: "chat.completion.chunk",
    created: answer.created,
    model: answer.model,
    system_fingerprint: null,
    ...(includeUsage && { usage: null }),
  };
  const chunk = (delta: Json, finishReason: string | null = null) =>
    frame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  return {
    role: chunk({ role: "assistant", content: "", refusal: null }),
    content: (piece: string) => chunk({ content: piece }),
    finish: (finishReason: string) => chunk({}, finishReason),
    usage: (completionTokens: number) => frame({ ...base, choices: [], usage: usage(answer, completionTokens) }),
    done: frame("[DONE]"),
  };
}

/** An event cut off mid-JSON, as a proxy that truncates a buffer sends it. */
export const malformedFrame = 'data: {"id":"chatcmpl-fault","object":"chat.completion.chunk","choices":[{"delta":{"content":"cu\n\n';

export function embeddings(body: unknown): Json | string {
  const request = objectOf(body);
  if (typeof request?.model !== "string") return "you must provide a model parameter";
  if (request.input === undefined) return "'input' is a required property";
  const inputs: unknown[] = Array.isArray(request.input) ? request.input : [request.input];
  const texts = inputs.map((input) => (typeof input === "string" ? input : JSON.stringify(input)));
  const tokens = texts.reduce((sum, text) => sum + Math.max(1, countTokens(text)), 0);
  return {
    object: "list",
    data: texts.map((text, index) => ({ object: "embedding", index, embedding: encode(vectorOf(text), request.encoding_format) })),
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** A deterministic 4-dimension vector: equal inputs, equal embeddings. */
function vectorOf(text: string): number[] {
  let hash = 2166136261;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 16777619);
  return [0, 1, 2, 3].map((shift) => (((hash >>> (shift * 8)) & 0xff) - 128) / 128);
}

/** `base64` is what OpenAI's SDKs ask for by default: little-endian float32s. */
function encode(vector: number[], format: unknown): number[] | string {
  return format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
}

export function modelList(models: string[], created: number): Json {
  return { object: "list", data: models.map((id) => ({ id, object: "model", created, owned_by: "fault-upstream" })) };
}

const defaultMessages: Record<number, string> = {
  400: "Invalid request.",
  401: "Incorrect API key provided.",
  404: "The model does not exist or you do not have access to it.",
  429: "Rate limit reached for requests.",
  500: "The server had an error while processing your request.",
  503: "The server is overloaded or not ready yet.",
};

export interface ErrorOverrides {
  message?: string;
  type?: string;
  code?: string;
}

/** OpenAI's error shape, with the type and code OpenAI gives each status unless overridden. */
export function errorBody(status: number, overrides: ErrorOverrides = {}): Json {
  const type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  const code = status === 429 ? "rate_limit_exceeded" : status === 401 ? "invalid_api_key" : status === 404 ? "model_not_found" : null;
  return {
    error: {
      message: overrides.message ?? defaultMessages[status] ?? `fault-upstream: status ${status}`,
      type: overrides.type ?? type,
      param: null,
      code: overrides.code ?? code,
    },
  };
}
