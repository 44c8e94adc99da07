import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import type { StreamEnd } from "../../shared/http/stream-end.ts";
import { sseData } from "../../shared/sse.ts";

export interface SseOptions {
  /** The `model` every chunk reports, e.g. `mock/echo`. */
  model: (chunk: ChatCompletionChunk) => string;
  requestId: string;
  /** Written right before `[DONE]` of a stream that ended whole (the cost comment); undefined, nothing. */
  beforeDone?: () => Uint8Array | undefined;
  /** Told once how the stream ended: whole, with an error event, or cancelled by a client that left. */
  onEnd?: (end: StreamEnd) => void;
}

/**
 * Serialises chunks as OpenAI's SSE stream, pulling one chunk per read so slow clients
 * apply back-pressure upstream. A failure after the first byte ends the stream with an
 * error object and no `[DONE]`, so a cut answer never looks complete. A failure that is
 * not a `GatewayError` is ours: the client gets the generic internal error, never its text.
 */
export function chatSse(chunks: AsyncIterable<ChatCompletionChunk>, options: SseOptions): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await iterator.next();
          if (done) {
            const last = options.beforeDone?.();
            if (last) controller.enqueue(last);
            controller.enqueue(sseData("[DONE]"));
            controller.close();
            options.onEnd?.("done");
            return;
          }
          controller.enqueue(sseData(await serialised(iterator, value, options)));
        } catch (error) {
          const gatewayError = error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error });
          controller.enqueue(sseData(JSON.stringify(gatewayError.toBody(options.requestId))));
          controller.close();
          options.onEnd?.("error");
        }
      },
      async cancel() {
        options.onEnd?.("client_gone");
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A chunk as JSON text. One that cannot be written (nested too deep for the stack) is
 * thrown into the chunks' iterator, so the stream ends through the same path as any other
 * failure there: the upstream closed, the cause logged by whoever watches that path.
 */
async function serialised(iterator: AsyncIterator<ChatCompletionChunk>, chunk: ChatCompletionChunk, options: SseOptions): Promise<string> {
  try {
    return JSON.stringify({ ...chunk, model: options.model(chunk) });
  } catch (error) {
    await iterator.throw?.(error).catch(() => {});
    await iterator.return?.().catch(() => {});
    throw error;
  }
}
