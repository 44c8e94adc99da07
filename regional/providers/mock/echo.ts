import { createHash } from "node:crypto";
import type { ModelKind } from "../types.ts";

/**
 * The mock's models, apart from any wire format: `echo` answers with the last user
 * message, `embed` gives each input a deterministic 8-dimension unit vector; `instruct`,
 * `image`, `whisper`, `speak` and `moderate` serve the other endpoints (`forwarded.ts`).
 * Tokens are counted one per word, so tests and limits get predictable numbers.
 */
const mockModels: Record<string, ModelKind> = {
  echo: "chat",
  embed: "embeddings",
  instruct: "completions",
  image: "images",
  whisper: "transcription",
  speak: "speech",
  moderate: "moderation",
};

export function kindOf(model: string): ModelKind | undefined {
  return Object.hasOwn(mockModels, model) ? mockModels[model] : undefined;
}

/** What a chat request comes down to, whichever wire format it came in. */
export interface EchoPrompt {
  model: string;
  /** Every text of the prompt, system included: the prompt's token count. */
  texts: string[];
  /** The last user message's text: the answer. */
  lastUser: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
}

export interface EchoAnswer {
  /** Word by word, each with the whitespace after it: the pieces of a stream. */
  words: string[];
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Cut at `max_tokens`. */
  truncated: boolean;
}

export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function echo(prompt: EchoPrompt): EchoAnswer {
  const all = prompt.lastUser.split(/(?<=\s)/).filter(Boolean);
  // A piece that is only whitespace is no token; a cut keeps whole words.
  let tokens = 0;
  const limit = prompt.maxTokens ?? Number.POSITIVE_INFINITY;
  const words = all.filter((word) => (word.trim() ? ++tokens : tokens) <= limit);
  const text = words.join("");
  return {
    words,
    text,
    promptTokens: prompt.texts.reduce((sum, part) => sum + countWords(part), 0),
    completionTokens: countWords(text),
    truncated: words.length < all.length,
  };
}

const dimensions = 8;

export function embed(text: string): number[] {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from({ length: dimensions }, (_, i) => digest.readInt32BE(i * 4) / 2 ** 31);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Number((value / norm).toFixed(8)));
}

/** `base64` is what OpenAI's SDKs ask for by default: little-endian float32s. */
export function encodeEmbedding(vector: number[], format: unknown): number[] | string {
  return format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
}
