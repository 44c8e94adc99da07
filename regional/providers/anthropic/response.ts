import type { ChatCompletion, Usage } from "../../../shared/contract/chat.ts";
import type { AnthropicUsage, Message, ResponseBlock, StopReason, TextBlock, ToolUseBlock } from "./wire.ts";

/** Why the answer ended, in OpenAI's words; reasons Anthropic adds later read as `stop`. */
const finishReasons: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function finishReason(reason: StopReason | null): string | null {
  return reason === null ? null : (finishReasons[reason] ?? "stop");
}

/**
 * Anthropic counts prompt tokens read from and written to its cache apart from
 * `input_tokens`; OpenAI's `prompt_tokens` includes them and says in
 * `prompt_tokens_details.cached_tokens` how many were read (billed at a discount). Tokens
 * written to the cache, billed at a premium, are `cache_write_tokens` when there are any.
 * The details come when Anthropic reports its cache counts (the Messages API always does).
 */
export function usageOf(usage: AnthropicUsage): Usage {
  const read = usage.cache_read_input_tokens;
  const written = usage.cache_creation_input_tokens;
  const prompt = (usage.input_tokens ?? 0) + (written ?? 0) + (read ?? 0);
  const completion = usage.output_tokens ?? 0;
  const reported = typeof read === "number" || typeof written === "number";
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(reported && { prompt_tokens_details: { cached_tokens: read ?? 0, ...(written && { cache_write_tokens: written }) } }),
  };
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export function isText(block: ResponseBlock): block is TextBlock {
  return block.type === "text";
}

export function isToolUse(block: ResponseBlock): block is ToolUseBlock {
  return block.type === "tool_use";
}

/** A Messages API answer as an OpenAI chat completion. */
export function fromMessage(message: Message, created: number): ChatCompletion {
  const text = message.content.filter(isText).map((block) => block.text);
  const toolCalls: ToolCall[] = message.content.filter(isToolUse).map((block) => ({
    id: block.id,
    type: "function",
    function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
  }));
  const content = text.length === 0 && toolCalls.length > 0 ? null : text.join("");
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null, ...(toolCalls.length > 0 && { tool_calls: toolCalls }) },
        finish_reason: finishReason(message.stop_reason),
        logprobs: null,
      },
    ],
    usage: usageOf(message.usage),
    system_fingerprint: null,
  };
}
