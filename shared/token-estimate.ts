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

/** `unlimited`: the completion tokens assumed per choice for a chat request that sets no limit. */
export function estimateTokens(path: string, body: unknown, unlimited = defaultCompletionTokens): TokenEstimate {
  if (!isObject(body)) return { prompt: 0, total: 0 };
  if (path === "/v1/chat/completions") return chatEstimate(body, unlimited);
  if (path === "/v1/embeddings") {
    const prompt = inputTokens(body.input);
    return { prompt, total: prompt };
  }
  return { prompt: 0, total: 0 };
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

/** Whether a chat request's completion tokens are within the ceiling; if not, the field that asks for more. */
export type CompletionCheck = { ok: true } | { ok: false; param: "max_tokens" | "max_completion_tokens"; message: string };

/**
 * Holds a chat request to `ceiling` completion tokens over all its choices (`max_tokens` ×
 * `n`): the reservation counts them in full, so this bounds what one request may hold and
 * use. A field above it is refused, naming it; nothing is clamped behind the client's back.
 */
export function checkCompletionTokens(path: string, body: unknown, ceiling: number): CompletionCheck {
  if (path !== "/v1/chat/completions" || !isObject(body)) return { ok: true };
  const choices = positive(body.n) ?? 1;
  const most = Math.max(1, Math.floor(ceiling / choices));
  for (const param of ["max_completion_tokens", "max_tokens"] as const) {
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
