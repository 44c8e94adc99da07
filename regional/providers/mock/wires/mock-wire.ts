import type { EchoAnswer, EchoPrompt } from "../echo.ts";

/** One answer as a wire format renders it. */
export interface Reply {
  id: string;
  created: number;
  model: string;
  answer: EchoAnswer;
  includeUsage: boolean;
}

/** An error answer: status and body in the wire format's shape. */
export interface WireError {
  status: number;
  body: unknown;
}

/** The SSE events of a streamed answer, each a complete `event:`/`data:` frame. */
export interface StreamFrames {
  /** Before the content (message start, role). */
  head: string[];
  /** One event per word; stream faults count these. */
  content: string[];
  /** After the content (finish reason, usage). */
  tail: string[];
  /** The terminator a `no-done` fault leaves out. */
  end: string;
}

/**
 * What one provider's wire format looks like to the mock upstream: the data that differs
 * between OpenAI and Anthropic, while the server's control flow stays the same.
 */
export interface MockWire {
  /** The path of the chat endpoint, e.g. `/openai/v1/chat/completions`. */
  chatPath: string;
  /** How this provider's answer ids begin. */
  idPrefix: string;
  /** Whether the request carries credentials the way this provider expects them. */
  authorized(headers: Headers): boolean;
  /** The prompt of a chat request body, or what is wrong with it. */
  readChat(body: unknown): EchoPrompt | string;
  completion(reply: Reply): unknown;
  stream(reply: Reply): StreamFrames;
  /** An event whose data is not JSON, for the `malformed-chunk` fault. */
  malformedEvent: string;
  error(status: number, message: string): WireError;
  contextLength: WireError;
  contentPolicy: WireError;
}

export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`;
}

export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The text of a message's content: a string, or the text parts or blocks of an array. */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => {
      const block = objectOf(part);
      return block?.type === "text" && typeof block.text === "string" ? block.text : "";
    })
    .join("");
}
