import { GatewayError } from "./error.ts";

/**
 * Reads a request body whole, at most `maxBytes`: by its Content-Length, or without one as
 * soon as the bytes read pass the limit, it is refused with 413. `null` when there is none.
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  const tooLarge = () => new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBytes} bytes.` });
  if (Number(request.headers.get("content-length")) > maxBytes) throw tooLarge();
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
export function concatBytes(parts: Uint8Array[], size: number): Uint8Array {
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
