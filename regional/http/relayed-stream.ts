import { GatewayError } from "../../shared/error.ts";
import type { StreamEnd } from "../../shared/http/stream-end.ts";
import type { SseEvent } from "../../shared/sse.ts";

export interface RelayOptions<T> {
  /** The bytes a part goes out as; undefined leaves it out. */
  encode(part: T): Uint8Array | undefined;
  /**
   * The last bytes of a stream that broke after it started (an SSE error event); undefined
   * cuts the connection instead, so a binary body never looks complete.
   */
  broken(error: GatewayError): Uint8Array | undefined;
  /** Told once, when the stream ended, broke or the client left. */
  onEnd(error?: unknown): void;
  /** Told once too, how it ended (for the response-end listeners of an SSE answer). */
  ended?: (end: StreamEnd) => void;
}

/**
 * Sends parts to the client one per read, so a slow client holds the upstream back. A
 * failure that is not a `GatewayError` is ours: the client gets the generic internal error.
 */
export function relayed<T>(parts: AsyncIterator<T>, options: RelayOptions<T>): ReadableStream<Uint8Array> {
  let ended = false;
  const end = (how: StreamEnd, error?: unknown) => {
    if (ended) return;
    ended = true;
    options.onEnd(error);
    options.ended?.(how);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await parts.next();
            if (done) {
              controller.close();
              return end("done");
            }
            const bytes = options.encode(value);
            if (bytes) return controller.enqueue(bytes);
          }
        } catch (error) {
          end("error", error);
          const last = options.broken(error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error }));
          if (!last) return controller.error(error);
          controller.enqueue(last);
          controller.close();
        }
      },
      async cancel() {
        end("client_gone", new DOMException("The client left.", "AbortError"));
        await parts.return?.().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

const encoder = new TextEncoder();

/** One SSE frame: `event:` when named, each line of data on its own `data:` line. */
export function sseFrame(event: SseEvent): Uint8Array {
  const data = event.data
    .split("\n")
    .map((line) => `data: ${line}\n`)
    .join("");
  return encoder.encode(`${event.event === undefined ? "" : `event: ${event.event}\n`}${data}\n`);
}
