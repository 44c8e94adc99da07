import { GatewayError } from "../../shared/error.ts";

/**
 * Reads a request body of at most `maxBytes`, counting bytes as they arrive so a body
 * without `Content-Length` cannot grow past the limit either (413 beyond it).
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBytes} bytes.` });
  if (Number(request.headers.get("content-length")) > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
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
  return Buffer.concat(parts, size);
}
