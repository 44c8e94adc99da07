import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { sseData } from "../../shared/sse.ts";

export interface SseOptions {
  /** The `model` every chunk reports, e.g. `mock/echo`. */
  model: (chunk: ChatCompletionChunk) => string;
  requestId: string;
}

/**
 * Serialises chunks as OpenAI's SSE stream, pulling one chunk per read so slow clients
 * apply back-pressure upstream. A failure after the first byte ends the stream with an
 * error object and no `[DONE]`, so a cut answer never looks complete.
 */
export function chatSse(chunks: AsyncIterable<ChatCompletionChunk>, options: SseOptions): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await iterator.next();
          if (done) {
            controller.enqueue(sseData("[DONE]"));
            controller.close();
            return;
          }
          controller.enqueue(sseData(JSON.stringify({ ...value, model: options.model(value) })));
        } catch (error) {
          const gatewayError = error instanceof GatewayError ? error : new GatewayError("upstream_error", { message: "The stream failed.", cause: error });
          controller.enqueue(sseData(JSON.stringify(gatewayError.toBody(options.requestId))));
          controller.close();
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
