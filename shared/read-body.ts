import { GatewayError } from "./error.ts";

/**
 * Reads a request body whole, at most `maxBytes`: by its Content-Length, or without one as
 * soon as the bytes read pass the limit, it is refused with 413. `null` when there is none.
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const tooLarge = () => new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBytes} bytes.` });
  const length = request.headers.get("content-length");
  if (Number(length) > maxBytes) throw tooLarge();
  // A declared length within the limit is the most the body can hold: read it whole. On Node,
  // @hono/node-server then reads the socket directly instead of through a web stream.
  if (length !== null) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return null;
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return concatBytes(parts, size);
}

/** The parts as one array of `size` bytes. */
export function concatBytes(parts: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return all;
}

/** A body parsed as JSON; undefined when there is none or it is not JSON (validation reports that later). */
export function parseJsonBytes(body: Uint8Array | null): unknown {
  if (!body || body.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

/** A peer's body read up to a bound: whole when it fits, else as a stream that still carries every byte. */
export type BoundedRead = { complete: true; bytes: Uint8Array } | { complete: false; body: ReadableStream<Uint8Array> };

/**
 * Reads at most a little over `maxBytes` of a body another party sends (an origin's error
 * body, a key record): a peer that sends without end — a chunked body, no Content-Length —
 * must not hold a request or memory hostage. When the body ends within the bound its bytes
 * come back; otherwise a stream of what was read followed by the rest, as it comes, so the
 * body can still be handed on untouched (or cancelled).
 */
export async function readUpTo(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<BoundedRead> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { complete: true, bytes: concatBytes(parts, size) };
    parts.push(value);
    size += value.byteLength;
    if (size > maxBytes) break;
  }
  let next = 0;
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const part = parts[next];
      if (part) {
        parts[next++] = new Uint8Array(0);
        controller.enqueue(part);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
  return { complete: false, body: rest };
}
