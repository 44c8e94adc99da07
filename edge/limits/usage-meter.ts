import { charsPerToken } from "../../shared/token-estimate.ts";
import { costHeader } from "../../shared/contract/budgets.ts";
import { concatBytes } from "../../shared/read-body.ts";

/**
 * Reads the token usage out of a response while passing it through untouched and
 * unbuffered: from `usage` in a JSON body, or from the usage chunk of an SSE stream (a
 * Responses stream: its `response.completed` event), counting streamed content when there is none. The count is final when the body ends,
 * fails, or the client goes away mid-stream. Regional's cost comes along: the
 * `x-breakwater-cost-usd` header, or for a stream the comment it closes with, which is left
 * out of what the client gets.
 */
export interface MeterOptions {
  /** Prompt tokens to count when a stream ends without a usage chunk. */
  promptTokens: number;
  /** Leave out the usage-only chunk: the edge asked for it, the client did not. */
  dropUsageChunk: boolean;
}

export interface TokenUsage {
  prompt: number;
  completion: number;
  total: number;
}

export interface MeteredResponse {
  response: Response;
  /** Tokens used, or null when the response does not say (nor can they be counted). */
  usage: Promise<TokenUsage | null>;
  /** What regional said the call cost in USD (a decimal string), or null when it did not say. */
  costUsd: Promise<string | null>;
}

/** Regional's cost comment (`costCommentPrefix`), allowing for a comment written without the space. */
const costComment = /^: ?x-breakwater-cost-usd=([^\r\n]*)(?:\r\n|\r|\n)?/m;

/** Largest JSON body inspected for `usage`; larger ones pass through uncounted. */
const maxJsonBytes = 4 * 1024 * 1024;

export function meterUsage(response: Response, options: MeterOptions): MeteredResponse {
  const type = response.headers.get("content-type") ?? "";
  const header = response.headers.get(costHeader);
  if (!response.body) return { response, usage: Promise.resolve(null), costUsd: Promise.resolve(header) };
  const sink = type.startsWith("text/event-stream") ? sseSink(options) : type.includes("json") ? jsonSink() : null;
  if (!sink) return { response, usage: Promise.resolve(null), costUsd: Promise.resolve(header) };
  const body = passThrough(response.body, sink);
  const costUsd = sink.costUsd ? sink.costUsd.then((told) => told ?? header) : Promise.resolve(header);
  return { response: new Response(body, response), usage: sink.usage, costUsd };
}

interface Sink {
  /** What to pass on for these bytes (possibly nothing yet). */
  chunk(bytes: Uint8Array): Uint8Array[];
  /** What is left to pass on when the body ended. */
  flush(): Uint8Array[];
  /** The body ended (`end`), failed, or the client cancelled it. */
  finish(how: "end" | "error" | "cancel"): void;
  usage: Promise<TokenUsage | null>;
  /** The cost the body itself reports; undefined when only a header could. */
  costUsd?: Promise<string | null>;
}

function passThrough(body: ReadableStream<Uint8Array>, sink: Sink): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = (how: "end" | "error" | "cancel") => {
    if (finished) return;
    finished = true;
    sink.finish(how);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              for (const part of sink.flush()) controller.enqueue(part);
              controller.close();
              finish("end");
              return;
            }
            const parts = sink.chunk(value);
            for (const part of parts) controller.enqueue(part);
            if (parts.length > 0) return;
          }
        } catch (error) {
          finish("error");
          controller.error(error);
        }
      },
      async cancel(reason) {
        finish("cancel");
        await reader.cancel(reason).catch(() => {});
      },
    },
    // Pull only when the client reads, so a slow client slows the origin, not the edge's memory.
    { highWaterMark: 0 },
  );
}

function jsonSink(): Sink {
  const parts: Uint8Array[] = [];
  let size = 0;
  const usage = deferred<TokenUsage | null>();
  return {
    chunk(bytes) {
      size += bytes.byteLength;
      if (size <= maxJsonBytes) parts.push(bytes.slice());
      return [bytes];
    },
    flush: () => [],
    finish(how) {
      if (how !== "end" || size > maxJsonBytes) return usage.resolve(null);
      try {
        const text = new TextDecoder().decode(concatBytes(parts, size));
        usage.resolve(tokenUsage((JSON.parse(text) as { usage?: unknown }).usage));
      } catch {
        usage.resolve(null);
      }
    },
    usage: usage.promise,
  };
}

const eventEnd = /\r\n\r\n|\n\n|\r\r/;

/**
 * Longest SSE event held back to be read (in characters). A larger one — an origin sending
 * without ever ending an event — is passed on as it comes, unread, and reading starts again
 * after its end: the meter never buffers without bound.
 */
export const maxEventChars = 256 * 1024;

function sseSink(options: MeterOptions): Sink {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const usage = deferred<TokenUsage | null>();
  const cost = deferred<string | null>();
  let costUsd: string | null = null;
  let buffer = "";
  let reported: TokenUsage | null = null;
  let contentChars = 0;
  // Inside an oversized event: passing text on until that event ends. `tail` holds the last
  // characters passed on, since an event's end ("\n\n", "\r\n\r\n") may straddle two reads.
  let skipping = false;
  let tail = "";

  /** Meters one event; false when it is to be left out. */
  const keep = (event: string): boolean => {
    const data = event
      .split(/\r\n|\r|\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
      .join("\n");
    if (data === "" || data === "[DONE]") return true;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return true;
    }
    if (typeof chunk !== "object" || chunk === null) return true;
    const {
      usage: used,
      choices,
      type,
      response,
      delta,
    } = chunk as {
      usage?: unknown;
      choices?: unknown;
      type?: unknown;
      response?: { usage?: unknown } | null;
      delta?: unknown;
    };
    // The Responses API's typed events: usage only in `response.completed`, text in `response.output_text.delta`.
    if (type === "response.completed") {
      reported = tokenUsage(response?.usage) ?? reported;
      return true;
    }
    if (type === "response.output_text.delta" && typeof delta === "string") contentChars += delta.length;
    const counted = tokenUsage(used);
    if (counted !== null) reported = counted;
    if (Array.isArray(choices)) for (const choice of choices) contentChars += deltaLength(choice);
    return !(options.dropUsageChunk && counted !== null && Array.isArray(choices) && choices.length === 0);
  };

  /** Meters one event; what of it to pass on (nothing for a usage chunk the client did not ask for, or regional's cost comment). */
  const pass = (event: string): string => {
    const comment = costComment.exec(event);
    if (comment) {
      costUsd = comment[1]!.trim();
      const rest = event.slice(0, comment.index) + event.slice(comment.index + comment[0].length);
      return /^[\r\n]*$/.test(rest) ? "" : rest;
    }
    return keep(event) ? event : "";
  };

  /** Text of an oversized event, passed on unread up to its end; what follows its end is read again. */
  const skip = (text: string): string => {
    const joined = tail + text;
    const match = eventEnd.exec(joined);
    if (!match) {
      tail = joined.slice(-3);
      return text;
    }
    const end = Math.max(0, match.index + match[0].length - tail.length);
    skipping = false;
    tail = "";
    buffer = text.slice(end);
    return text.slice(0, end);
  };

  const take = (final: boolean): string => {
    let out = "";
    for (let match = eventEnd.exec(buffer); match; match = eventEnd.exec(buffer)) {
      const end = match.index + match[0].length;
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end);
      out += pass(event);
    }
    if (final && buffer !== "") {
      out += pass(buffer);
      buffer = "";
    }
    if (buffer.length > maxEventChars) {
      out += buffer;
      tail = buffer.slice(-3);
      buffer = "";
      skipping = true;
    }
    return out;
  };

  const encoded = (text: string): Uint8Array[] => (text === "" ? [] : [encoder.encode(text)]);

  return {
    chunk(bytes) {
      let text = decoder.decode(bytes, { stream: true });
      let out = "";
      if (skipping) {
        out = skip(text);
        text = "";
      }
      buffer += text;
      return encoded(out + (skipping ? "" : take(false)));
    },
    flush() {
      const rest = decoder.decode();
      if (skipping) return encoded(rest);
      buffer += rest;
      return encoded(take(true));
    },
    finish() {
      const completion = Math.ceil(contentChars / charsPerToken);
      usage.resolve(reported ?? { prompt: options.promptTokens, completion, total: options.promptTokens + completion });
      cost.resolve(costUsd);
    },
    usage: usage.promise,
    costUsd: cost.promise,
  };
}

/** Usage as the APIs report it: prompt and completion tokens (the Responses API and audio: input and output), and their total. */
function tokenUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const fields = usage as Record<string, unknown>;
  const prompt = count(fields.prompt_tokens) ?? count(fields.input_tokens);
  const completion = count(fields.completion_tokens) ?? count(fields.output_tokens);
  const total = count(fields.total_tokens) ?? (prompt !== null && completion !== null ? prompt + completion : null);
  if (total === null) return null;
  // An embeddings answer reports prompt and total only: all of it is prompt.
  const input = prompt ?? (completion !== null ? Math.max(0, total - completion) : total);
  return { prompt: input, completion: completion ?? Math.max(0, total - input), total };
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? Math.max(0, Math.round(value)) : null;
}

function deltaLength(choice: unknown): number {
  const { delta, text } = (choice ?? {}) as { delta?: { content?: unknown; tool_calls?: unknown }; text?: unknown };
  // A legacy completions chunk carries its text on the choice itself.
  if (typeof text === "string") return text.length;
  if (!delta) return 0;
  let length = typeof delta.content === "string" ? delta.content.length : 0;
  if (Array.isArray(delta.tool_calls)) {
    for (const call of delta.tool_calls) {
      const args = (call as { function?: { arguments?: unknown } } | null)?.function?.arguments;
      if (typeof args === "string") length += args.length;
    }
  }
  return length;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}
