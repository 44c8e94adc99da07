import type { EchoPrompt } from "../echo.ts";
import { objectOf, sseFrame, textOf, type MockWire, type Reply } from "./mock-wire.ts";

/** Anthropic's error types by the status they come with. */
const errorTypes: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const errorBody = (type: string, message: string) => ({ type: "error", error: { type, message }, request_id: "req_mock" });

const stopReason = (reply: Reply) => (reply.answer.truncated ? "max_tokens" : "end_turn");

/** Anthropic's Messages API wire format (`/v1/messages`, named SSE events). */
export const anthropicWire: MockWire = {
  chatPath: "/anthropic/v1/messages",
  idPrefix: "msg_",

  authorized: (headers) => Boolean(headers.get("x-api-key") && headers.get("anthropic-version")),

  readChat(body): EchoPrompt | string {
    const request = objectOf(body);
    if (typeof request?.model !== "string") return "model: Field required";
    if (typeof request.max_tokens !== "number") return "max_tokens: Field required";
    if (!Array.isArray(request.messages) || request.messages.length === 0) return "messages: Field required";
    const messages = request.messages.map((message) => objectOf(message) ?? {});
    return {
      model: request.model,
      texts: [textOf(request.system), ...messages.map((message) => textOf(message.content))],
      lastUser: textOf(messages.findLast((message) => message.role === "user")?.content),
      stream: request.stream === true,
      includeUsage: true,
      maxTokens: request.max_tokens,
    };
  },

  completion: (reply) => ({
    id: reply.id,
    type: "message",
    role: "assistant",
    model: reply.model,
    content: reply.answer.text ? [{ type: "text", text: reply.answer.text }] : [],
    stop_reason: stopReason(reply),
    stop_sequence: null,
    usage: { input_tokens: reply.answer.promptTokens, output_tokens: reply.answer.completionTokens },
  }),

  stream(reply) {
    const message = {
      id: reply.id,
      type: "message",
      role: "assistant",
      model: reply.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
    };
    return {
      head: [
        sseFrame(
          { type: "message_start", message: { ...message, usage: { input_tokens: reply.answer.promptTokens, output_tokens: 1 } } },
          "message_start",
        ),
        sseFrame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
        sseFrame({ type: "ping" }, "ping"),
      ],
      content: reply.answer.words.map((text) =>
        sseFrame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }, "content_block_delta"),
      ),
      tail: [
        sseFrame({ type: "content_block_stop", index: 0 }, "content_block_stop"),
        sseFrame(
          {
            type: "message_delta",
            delta: { stop_reason: stopReason(reply), stop_sequence: null },
            usage: { output_tokens: reply.answer.completionTokens },
          },
          "message_delta",
        ),
      ],
      end: sseFrame({ type: "message_stop" }, "message_stop"),
    };
  },

  malformedEvent: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n',

  error: (status, message) => ({
    status,
    body: errorBody(errorTypes[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"), message),
  }),

  contextLength: { status: 400, body: errorBody("invalid_request_error", "prompt is too long: 208316 tokens > 200000 maximum") },

  contentPolicy: { status: 400, body: errorBody("invalid_request_error", "Output blocked by content filtering policy") },
};
