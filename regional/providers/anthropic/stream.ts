import type { ChatCompletionChunk } from "../../../shared/contract/chat.ts";
import { GatewayError } from "../../../shared/error.ts";
import { parseSse } from "../../../shared/sse.ts";
import { reportMalformedChunk } from "../malformed-chunk.ts";
import type { CallContext } from "../types.ts";
import { anthropicStreamError } from "./errors.ts";
import { finishReason, isText, isToolUse, usageOf } from "./response.ts";
import type { AnthropicUsage, StreamEvent } from "./wire.ts";

export interface StreamOptions {
  provider: string;
  created: number;
  /** The call's signal: once it aborted, a broken body is our doing, not the provider's. */
  signal: AbortSignal;
  /** Told of each event skipped because it could not be read. */
  onMalformedChunk?: CallContext["onMalformedChunk"];
}

type Delta = ChatCompletionChunk["choices"][number]["delta"];
type ChunkBase = Omit<ChatCompletionChunk, "choices" | "usage">;

/** An event by its `type`; undefined when the data is not JSON or has no type to go by. */
function parseEvent(data: string): StreamEvent | undefined {
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!event || typeof event !== "object" || typeof (event as { type?: unknown }).type !== "string") return undefined;
  return event as StreamEvent;
}

/** The numbers a `message_delta` reports replace the ones `message_start` gave. */
function mergeUsage(usage: AnthropicUsage, update: AnthropicUsage | undefined): AnthropicUsage {
  const merged = { ...usage };
  for (const [key, value] of Object.entries(update ?? {}) as Array<[keyof AnthropicUsage, unknown]>) {
    if (typeof value === "number") merged[key] = value;
  }
  return merged;
}

/**
 * Anthropic's stream events as OpenAI chunks: a first chunk with the assistant role,
 * content and tool-call deltas, a chunk with the finish reason, then a usage chunk with no
 * choices (always; whether the client sees it is the route's call). An `error` event, a
 * broken body or an end before the stop reason fails the stream; a missing
 * `message_stop` after the stop reason does not, the answer being complete by then. An
 * event that cannot be read is skipped and reported through `onMalformedChunk`: one bad
 * event should not cost the client the whole answer.
 */
export async function* chatChunksOf(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: StreamOptions,
): AsyncGenerator<ChatCompletionChunk> {
  const { provider } = options;
  let base: ChunkBase | undefined;
  let usage: AnthropicUsage = {};
  let finished = false;
  /** Tool-use blocks by Anthropic's content block index: OpenAI numbers tool calls apart. */
  const tools = new Map<number, { index: number; input: unknown; hasArguments: boolean }>();

  const chunk = (delta: Delta, finish: string | null = null): ChatCompletionChunk => {
    if (!base) throw new GatewayError("upstream_error", { message: `${provider} sent content before message_start.` });
    return { ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
  };

  /**
   * A tool call that streamed no arguments gets them whole, as the non-streamed answer has
   * them: its start block's input, `{}` (Anthropic's SDK reads an empty JSON buffer as `{}`).
   */
  function* wholeArguments(blocks: number[]): Generator<ChatCompletionChunk> {
    for (const block of blocks) {
      const tool = tools.get(block);
      if (!tool || tool.hasArguments) continue;
      tool.hasArguments = true;
      yield chunk({ tool_calls: [{ index: tool.index, function: { arguments: JSON.stringify(tool.input ?? {}) } }] });
    }
  }

  try {
    for await (const sse of parseSse(body)) {
      const event = parseEvent(sse.data);
      if (!event) {
        reportMalformedChunk(options, sse.data);
        continue;
      }
      switch (event.type) {
        case "message_start":
          base = {
            id: event.message.id,
            object: "chat.completion.chunk",
            created: options.created,
            model: event.message.model,
            system_fingerprint: null,
          };
          usage = mergeUsage({}, event.message.usage);
          yield chunk({ role: "assistant", content: "", refusal: null });
          break;
        case "content_block_start": {
          const block = event.content_block;
          if (isToolUse(block)) {
            const index = tools.size;
            tools.set(event.index, { index, input: block.input, hasArguments: false });
            yield chunk({ tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }] });
          } else if (isText(block) && block.text) {
            yield chunk({ content: block.text });
          }
          break;
        }
        case "content_block_delta": {
          const { delta } = event;
          const text = delta.type === "text_delta" && "text" in delta ? delta.text : undefined;
          const json = delta.type === "input_json_delta" && "partial_json" in delta ? delta.partial_json : undefined;
          const tool = tools.get(event.index);
          if (typeof text === "string") yield chunk({ content: text });
          // Thinking and citation deltas have no OpenAI counterpart and are left out.
          if (typeof json === "string" && json && tool) {
            tool.hasArguments = true;
            yield chunk({ tool_calls: [{ index: tool.index, function: { arguments: json } }] });
          }
          break;
        }
        case "content_block_stop":
          yield* wholeArguments([event.index]);
          break;
        case "message_delta":
          yield* wholeArguments([...tools.keys()]);
          usage = mergeUsage(usage, event.usage);
          finished = true;
          yield chunk({}, finishReason(event.delta.stop_reason));
          if (base) yield { ...base, choices: [], usage: usageOf(usage) };
          break;
        case "message_stop":
          return;
        case "error":
          throw anthropicStreamError(provider, event.error ?? {});
        default:
        // `ping` and event types Anthropic adds later carry nothing to pass on.
      }
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    if (options.signal.aborted) throw options.signal.reason ?? error;
    throw new GatewayError("upstream_error", { message: `${provider} broke off the stream.`, cause: error });
  }
  if (!finished) throw new GatewayError("upstream_error", { message: `${provider} ended the stream before the answer was complete.` });
}
