/**
 * What a request will cost in tokens, guessed before it runs so the tokens-per-minute
 * limit can hold them back; the real usage replaces the guess when the response ends.
 * Roughly four characters make a token in the common tokenizers.
 */
export interface TokenEstimate {
  /** Prompt tokens: what is counted if the response never says. */
  prompt: number;
  /** Prompt plus the most the completion may use. */
  total: number;
}

/** Completion tokens assumed when the request sets no `max_tokens`. */
export const defaultCompletionTokens = 256;
export const charsPerToken = 4;
/** Role and framing tokens around each chat message. */
const perMessageTokens = 4;

/**
 * What a body that is not JSON (a multipart audio upload, a binary one) is held back as: a fixed
 * small cost, not its size, since audio bytes say nothing of tokens. The answer's own usage,
 * where it reports one, replaces it.
 */
export const opaqueBodyEstimate: TokenEstimate = { prompt: defaultCompletionTokens, total: defaultCompletionTokens };

/** The field each endpoint caps its output tokens with, where it has one. */
const completionFields = {
  "/v1/chat/completions": ["max_completion_tokens", "max_tokens"],
  "/v1/completions": ["max_tokens"],
  "/v1/responses": ["max_output_tokens"],
} as const satisfies Record<string, readonly CompletionParam[]>;

type CompletionParam = "max_tokens" | "max_completion_tokens" | "max_output_tokens";

/** `unlimited`: the completion tokens assumed per choice for a request that sets no limit. */
export function estimateTokens(path: string, body: unknown, unlimited = defaultCompletionTokens): TokenEstimate {
  if (!isObject(body)) return { prompt: 0, total: 0 };
  switch (path) {
    case "/v1/chat/completions":
      return chatEstimate(body, unlimited);
    case "/v1/responses":
      return responsesEstimate(body, unlimited);
    case "/v1/completions": {
      const prompt = inputTokens(body.prompt);
      const choices = positive(body.best_of) ?? positive(body.n) ?? 1;
      return { prompt, total: prompt + (positive(body.max_tokens) ?? unlimited) * choices };
    }
    case "/v1/embeddings":
    case "/v1/moderations":
    case "/v1/audio/speech": {
      const prompt = inputTokens(body.input);
      return { prompt, total: prompt };
    }
    case "/v1/images/generations": {
      const prompt = inputTokens(body.prompt);
      return { prompt, total: prompt };
    }
    default:
      return { prompt: 0, total: 0 };
  }
}

/** The Responses API: `instructions` and `input` (a string, or message items with text parts), plus `max_output_tokens`. */
function responsesEstimate(body: Record<string, unknown>, unlimited: number): TokenEstimate {
  const items = Array.isArray(body.input) ? body.input : [];
  const chars = (typeof body.input === "string" ? body.input.length : textLength(items)) + textLength(body.instructions);
  const prompt = Math.ceil(chars / charsPerToken) + perMessageTokens * items.length;
  return { prompt, total: prompt + (positive(body.max_output_tokens) ?? unlimited) };
}

function chatEstimate(body: Record<string, unknown>, unlimited: number): TokenEstimate {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let chars = 0;
  for (const message of messages) chars += textLength(message);
  const prompt = Math.ceil(chars / charsPerToken) + perMessageTokens * messages.length;
  const limit = positive(body.max_completion_tokens) ?? positive(body.max_tokens) ?? unlimited;
  const choices = positive(body.n) ?? 1;
  return { prompt, total: prompt + limit * choices };
}

/** Whether a request's completion tokens are within the ceiling; if not, the field that asks for more. */
export type CompletionCheck = { ok: true } | { ok: false; param: CompletionParam; message: string };

/**
 * Holds a chat, completions or responses request to `ceiling` completion tokens over all its
 * choices (`max_tokens` × `n`): the reservation counts them in full, so this bounds what one
 * request may hold and use. A field above it is refused, naming it; nothing is clamped behind
 * the client's back.
 */
export function checkCompletionTokens(path: string, body: unknown, ceiling: number): CompletionCheck {
  if (!isObject(body) || !(path in completionFields)) return { ok: true };
  const choices = path === "/v1/responses" ? 1 : (positive(body.best_of) ?? positive(body.n) ?? 1);
  const most = Math.max(1, Math.floor(ceiling / choices));
  for (const param of completionFields[path as keyof typeof completionFields]) {
    const asked = positive(body[param]);
    if (asked !== undefined && asked > most) {
      const per = choices > 1 ? ` with n = ${choices}` : "";
      return {
        ok: false,
        param,
        message: `${param} may be at most ${most}${per} for this API key (its limit on completion tokens per request).`,
      };
    }
  }
  return { ok: true };
}

function inputTokens(input: unknown): number {
  if (typeof input === "string") return Math.ceil(input.length / charsPerToken);
  if (!Array.isArray(input)) return 0;
  // An array of token ids is exact; an array of strings or of token arrays adds up.
  if (input.every((item) => typeof item === "number")) return input.length;
  return input.reduce<number>((sum, item) => sum + inputTokens(item), 0);
}

/** Characters of text in a message: its content (string or text parts), name and tool calls. */
function textLength(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + textLength(item), 0);
  if (!isObject(value)) return 0;
  let length = 0;
  for (const [field, item] of Object.entries(value)) {
    if (
      field === "content" ||
      field === "text" ||
      field === "name" ||
      field === "arguments" ||
      field === "tool_calls" ||
      field === "function"
    ) {
      length += textLength(item);
    }
  }
  return length;
}

function positive(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
