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
 * so a broken or cut stream is never replayed.
 */
export function capture(response: Response, life: { storedAt: number; ttlS: number; staleS: number }): Captured {
  const type = response.headers.get("content-type") ?? "";
  const sse = type.startsWith("text/event-stream");
  if (!response.body || !(sse || type.includes("json"))) return { response, entry: Promise.resolve(null) };
  const [toClient, toCache] = response.body.tee();
  const headers = storableHeaders(response.headers);
  const entry = readText(toCache).then(async (body) => {
    if (body === null || (sse && !(await completedStream(body)))) return null;
    return { v: 1 as const, ...life, headers, body };
  });
  return { response: new Response(toClient, response), entry };
}

/** The body as UTF-8 text, or null when it failed, was too large or is not text. */
async function readText(body: ReadableStream<Uint8Array>): Promise<string | null> {
  const reader = body.getReader();
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
