import type { EchoPrompt } from "../echo.ts";
import { objectOf, sseFrame, textOf, type MockWire, type Reply } from "./mock-wire.ts";

const errorType = (status: number) => (status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error");

function usage(reply: Reply) {
  const { promptTokens, completionTokens } = reply.answer;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

const finish = (reply: Reply) => (reply.answer.truncated ? "length" : "stop");

/** OpenAI's chat completions wire format (`/v1/chat/completions`, `data: [DONE]`). */
export const openAiWire: MockWire = {
  chatPath: "/openai/v1/chat/completions",
  idPrefix: "chatcmpl-",

  authorized: (headers) => /^Bearer \S+/.test(headers.get("authorization") ?? ""),

  readChat(body): EchoPrompt | string {
    const request = objectOf(body);
    if (typeof request?.model !== "string") return "model: Required";
    if (!Array.isArray(request.messages) || request.messages.length === 0) return "messages: Required";
    const messages = request.messages.map((message) => objectOf(message) ?? {});
    const maxTokens = request.max_completion_tokens ?? request.max_tokens;
    return {
      model: request.model,
      texts: messages.map((message) => textOf(message.content)),
      lastUser: textOf(messages.findLast((message) => message.role === "user")?.content),
      stream: request.stream === true,
      includeUsage: objectOf(request.stream_options)?.include_usage === true,
      ...(typeof maxTokens === "number" && { maxTokens }),
    };
  },

  completion: (reply) => ({
    id: reply.id,
    object: "chat.completion",
    created: reply.created,
    model: reply.model,
    choices: [
      { index: 0, message: { role: "assistant", content: reply.answer.text, refusal: null }, finish_reason: finish(reply), logprobs: null },
    ],
    usage: usage(reply),
    system_fingerprint: null,
  }),

  stream(reply) {
    const base = { id: reply.id, object: "chat.completion.chunk", created: reply.created, model: reply.model, system_fingerprint: null };
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      sseFrame({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] });
    return {
      head: [chunk({ role: "assistant", content: "", refusal: null })],
      content: reply.answer.words.map((word) => chunk({ content: word })),
      tail: [chunk({}, finish(reply)), ...(reply.includeUsage ? [sseFrame({ ...base, choices: [], usage: usage(reply) })] : [])],
      end: sseFrame("[DONE]"),
    };
  },

  malformedEvent: 'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","choices":[{"delta":{"content":"cut\n\n',

  error: (status, message) => ({
    status,
    body: { error: { message, type: errorType(status), param: null, code: status === 429 ? "rate_limit_exceeded" : null } },
  }),

  contextLength: {
    status: 400,
    body: {
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    },
  },

  contentPolicy: {
    status: 400,
    body: {
      error: {
        message:
          "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
        type: "invalid_request_error",
        param: null,
        code: "content_policy_violation",
      },
    },
  },
};
