import type { ChatCompletionChunk, Usage } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import type { StreamStart } from "./chat-attempts.ts";
import { abortableReads } from "../../shared/resilience/abortable-reads.ts";

export interface StreamGuardOptions {
  idleMs: number;
  provider: string;
  onUsage?: (usage: Usage) => void;
  /**
   * Called once, when the stream ends: `undefined` for a clean end. `streamedChars` is the
   * content passed on, to count tokens by when the provider never reported its usage.
   */
  onEnd?: (error: unknown, streamedChars: number) => void;
}

/**
 * Yields a started stream to the client: the chunks read while waiting for the first
 * token, then the rest, each within the idle gap. Usage is taken out of the chunks and
 * handed to `onUsage` (the caller sends one usage chunk of its own, for every part). A stream that ends without any finish reason was cut short
 * and fails rather than looking complete.
 */
export async function* guardStream(start: StreamStart, options: StreamGuardOptions): AsyncGenerator<ChatCompletionChunk> {
  const { scope, rest } = start;
  let finished = false;
  let failure: unknown;
  let streamedChars = 0;
  const pass = (chunk: ChatCompletionChunk): ChatCompletionChunk | undefined => {
    for (const choice of chunk.choices) {
      if (choice.finish_reason) finished = true;
      const { content, tool_calls: toolCalls } = choice.delta;
      streamedChars += (content?.length ?? 0) + (toolCalls === undefined ? 0 : JSON.stringify(toolCalls).length);
    }
    if (chunk.usage) options.onUsage?.(chunk.usage);
    if (!("usage" in chunk)) return chunk;
    const { usage: _, ...withoutUsage } = chunk;
    return withoutUsage.choices.length > 0 ? withoutUsage : undefined;
  };

  try {
    for (const chunk of start.head) {
      const out = pass(chunk);
      if (out) yield out;
    }
    if (!start.ended) {
      const touch = scope.idle(options.idleMs, `${options.provider} went silent for ${options.idleMs} ms mid-stream`);
      const reader = abortableReads(rest, scope.signal);
      try {
        for (;;) {
          const next = await reader.next();
          if (next.done) break;
          touch();
          const out = pass(next.value);
          if (out) yield out;
        }
      } finally {
        reader.release();
      }
    }
    if (!finished)
      throw new GatewayError("upstream_error", { message: `${options.provider} ended the stream before the answer was complete.` });
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    scope.close();
    await rest.return?.().catch(() => {});
    options.onEnd?.(failure, streamedChars);
  }
}
