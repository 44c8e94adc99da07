/** How a streamed answer ended: with its `[DONE]`, cut (an error event, or the upstream failed), or the client hung up. */
export type StreamEnd = "done" | "error" | "client_gone";

const done = new TextEncoder().encode("data: [DONE]");

/** Whether the stream's last chunk ends with the `[DONE]` event (trailing line breaks aside). */
function endsWithDone(chunk: Uint8Array | undefined): boolean {
  if (!chunk) return false;
  let end = chunk.byteLength;
  while (end > 0 && (chunk[end - 1] === 0x0a || chunk[end - 1] === 0x0d)) end -= 1;
  if (end < done.byteLength) return false;
  return done.every((byte, index) => chunk[end - done.byteLength + index] === byte);
}

/**
 * The body as it was, one chunk per read (the client's back-pressure still reaches the
 * upstream), telling `ended` once how it ended. Only the last chunk is looked at: an SSE
 * answer that completed ends with `[DONE]`, one that broke with an error event instead.
 * Both tiers' access logs (and regional's metrics and spans) learn a stream's end from it.
 */
export function watchStreamEnd(body: ReadableStream<Uint8Array>, ended: (end: StreamEnd) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let last: Uint8Array | undefined;
  let told = false;
  const tell = (end: StreamEnd) => {
    if (!told) ended(end);
    told = true;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: finished, value } = await reader.read();
          if (!finished) {
            last = value;
            return controller.enqueue(value);
          }
          controller.close();
          tell(endsWithDone(last) ? "done" : "error");
        } catch (error) {
          tell("error");
          controller.error(error);
        }
      },
      async cancel(reason) {
        tell("client_gone");
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
