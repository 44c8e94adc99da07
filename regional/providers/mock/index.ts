import { createHash } from "node:crypto";
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, Usage } from "../../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../../shared/contract/embeddings.ts";
import type { Provider, ProviderChatRequest } from "../types.ts";

const dimensions = 8;

/**
 * The local default and test provider. `echo` answers with the last user message (word by
 * word when streaming); `embed` gives each input a deterministic unit vector.
 */
export function createMockProvider(now: () => number = Date.now): Provider {
  const created = () => Math.floor(now() / 1000);

  return {
    name: "mock",
    models: () => [
      { id: "echo", kind: "chat" },
      { id: "embed", kind: "embeddings" },
    ],

    async chat(request, context) {
      context.signal.throwIfAborted();
      const answer = lastUserText(request.messages);
      const completion: ChatCompletion = {
        id: `chatcmpl-${crypto.randomUUID()}`,
        object: "chat.completion",
        created: created(),
        model: request.model,
        choices: [{ index: 0, message: { role: "assistant", content: answer, refusal: null }, finish_reason: "stop", logprobs: null }],
        usage: usageOf(request, answer),
        system_fingerprint: null,
      };
      return completion;
    },

    async chatStream(request, context) {
      context.signal.throwIfAborted();
      const answer = lastUserText(request.messages);
      const base = { id: `chatcmpl-${crypto.randomUUID()}`, object: "chat.completion.chunk" as const, created: created(), model: request.model, system_fingerprint: null };
      const chunk = (delta: ChatCompletionChunk["choices"][number]["delta"], finish: string | null): ChatCompletionChunk => ({
        ...base,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      const words = answer.split(/(?<=\s)/).filter(Boolean);
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        yield chunk({ role: "assistant", content: "", refusal: null }, null);
        for (const word of words) {
          context.signal.throwIfAborted();
          yield chunk({ content: word }, null);
        }
        yield chunk({}, "stop");
        if (request.stream_options?.include_usage) yield { ...base, choices: [], usage: usageOf(request, answer) };
      }
      return chunks();
    },

    async embeddings(request) {
      const inputs = Array.isArray(request.input) ? request.input : [request.input];
      const texts = typeof inputs[0] === "number" ? [JSON.stringify(inputs)] : inputs.map((input) => (typeof input === "string" ? input : JSON.stringify(input)));
      const tokens = texts.reduce((sum, text) => sum + countWords(text), 0);
      const response: EmbeddingsResponse = {
        object: "list",
        data: texts.map((text, index) => ({ object: "embedding", index, embedding: encode(embed(text), request.encoding_format) })),
        model: request.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
      return response;
    },
  };
}

function textOf(message: ChatMessage): string {
  if (typeof message.content === "string") return message.content;
  if (!Array.isArray(message.content)) return "";
  return message.content.map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : "")).join("");
}

function lastUserText(messages: ChatMessage[]): string {
  const last = messages.findLast((message) => message.role === "user");
  return last ? textOf(last) : "";
}

/** The mock counts a token per word: predictable numbers for tests and limits. */
function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function usageOf(request: ProviderChatRequest, answer: string): Usage {
  const prompt = request.messages.reduce((sum, message) => sum + countWords(textOf(message)), 0);
  const completion = countWords(answer);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** `base64` is what OpenAI's SDKs ask for by default: little-endian float32s. */
function encode(vector: number[], format: "float" | "base64" | undefined): number[] | string {
  return format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
}

function embed(text: string): number[] {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from({ length: dimensions }, (_, i) => digest.readInt32BE(i * 4) / 2 ** 31);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => Number((value / norm).toFixed(8)));
}
