import type { ChatCompletionRequest, Usage } from "../../shared/contract/chat.ts";
import { charsPerToken, estimateTokens } from "../../shared/token-estimate.ts";

/**
 * The usage of a stream that ended before the provider reported it (the client hung up,
 * the provider broke off): the prompt as estimated, the completion counted from the
 * content that was streamed — roughly four characters a token, as the edge counts.
 */
export function streamedUsage(request: ChatCompletionRequest, streamedChars: number): Usage {
  const prompt = estimateTokens("/v1/chat/completions", request).prompt;
  const completion = Math.ceil(streamedChars / charsPerToken);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
