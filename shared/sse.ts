export interface SseEvent {
  event?: string;
  data: string;
}

const lineBreak = /\r\n|\r|\n/;

/**
 * Parses a `text/event-stream` body into events as they arrive (WHATWG rules: lines end in
 * LF, CR or CRLF; `data:` lines join with LF; a blank line ends an event). An event left
 * unterminated when the body ends is still delivered: some upstreams omit the last blank line.
 */
export async function* parseSse(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const chunks = (Symbol.asyncIterator in body ? body : chunksOf(body))[Symbol.asyncIterator]();
  let buffer = "";
  let data: string[] = [];
  let event: string | undefined;

  function* takeLines(final: boolean): Generator<SseEvent> {
    let end: number;
    while ((end = buffer.search(lineBreak)) >= 0) {
      // A CR at the very end may be the first half of a CRLF still in flight.
      if (!final && buffer[end] === "\r" && end === buffer.length - 1) return;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) yield event === undefined ? { data: data.join("\n") } : { event, data: data.join("\n") };
        data = [];
        event = undefined;
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
        if (field === "data") data.push(value);
        else if (field === "event") event = value;
      }
    }
  }

  let finished = false;
  try {
    for (;;) {
      const { done, value } = await chunks.next();
      if (done) {
        finished = true;
        buffer += `${decoder.decode()}\n\n`;
        yield* takeLines(true);
        return;
      }
      buffer += decoder.decode(value, { stream: true });
      yield* takeLines(false);
    }
  } finally {
    // A consumer that stops early must not leave the upstream connection streaming.
    if (!finished) await chunks.return?.().catch(() => {});
  }
}

/** A web stream as an async iterable; stopping early cancels the stream. */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

const encoder = new TextEncoder();

/** One SSE `data:` event, encoded. */
export function sseData(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}
