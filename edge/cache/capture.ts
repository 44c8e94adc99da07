import { concatBytes } from "../../shared/read-body.ts";
import { parseSse } from "../../shared/sse.ts";
import { storableHeaders, type CacheEntry } from "./entry.ts";

/** Largest answer stored (Upstash takes values up to about 1 MB per request on most plans). */
export const maxEntryBytes = 1024 * 1024;

export interface Captured {
  /** What the client gets: the body as it arrives, untouched. */
  response: Response;
  /** The whole answer as an entry once it ended properly; null when it did not, or cannot be stored. */
  entry: Promise<CacheEntry | null>;
}

/**
 * Tees a 200 answer: one branch goes to the client as it arrives, the other is read whole
 * for the cache. A stream is kept only when it completed (a finish reason and `[DONE]`),
 * so a broken or cut stream is never replayed; an answer the client hung up on is not kept.
 */
export function capture(response: Response, life: { storedAt: number; ttlS: number; staleS: number }): Captured {
  const type = response.headers.get("content-type") ?? "";
  const sse = type.startsWith("text/event-stream");
  if (!response.body || !(sse || type.includes("json"))) return { response, entry: Promise.resolve(null) };
  const [toClient, toCache] = response.body.tee();
  const cacheReader = toCache.getReader();
  let clientLeft = false;
  const headers = storableHeaders(response.headers);
  const entry = readText(cacheReader).then(async (body) => {
    if (body === null || clientLeft || (sse && !(await completedStream(body)))) return null;
    return { v: 1 as const, ...life, headers, body };
  });
  const followed = followingClient(toClient, () => {
    clientLeft = true;
    cacheReader.cancel().catch(() => {});
  });
  return { response: new Response(followed, response), entry };
}

/**
 * The client's branch of the tee. A tee reads on while either branch does, so a client that
 * hangs up would leave the origin generating (and billing) for the cache alone: its cancel
 * stops the cache's branch too, and the cut answer is not stored.
 */
function followingClient(branch: ReadableStream<Uint8Array>, onCancel: () => void): ReadableStream<Uint8Array> {
  const reader = branch.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        onCancel();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** The body as UTF-8 text, or null when it failed, was too large or is not text. */
async function readText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      size += chunk.value.byteLength;
      if (size > maxEntryBytes) {
        await reader.cancel();
        return null;
      }
      parts.push(chunk.value);
    }
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(concatBytes(parts, size));
  } catch {
    return null;
  }
}

/** Whether an SSE chat stream ended as a finished answer: some choice finished, then `[DONE]`, no error event. */
async function completedStream(text: string): Promise<boolean> {
  let finished = false;
  let done = false;
  for await (const event of parseSse(oneChunk(new TextEncoder().encode(text)))) {
    if (done) return false;
    if (event.data === "[DONE]") {
      done = true;
      continue;
    }
    if (event.event === "error") return false;
    try {
      const chunk = JSON.parse(event.data) as { choices?: { finish_reason?: unknown }[]; error?: unknown };
      if (chunk.error !== undefined) return false;
      if (chunk.choices?.some((choice) => typeof choice.finish_reason === "string")) finished = true;
    } catch {
      return false;
    }
  }
  return finished && done;
}

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
