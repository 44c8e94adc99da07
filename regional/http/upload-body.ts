import type { Context } from "hono";
import { GatewayError } from "../../shared/error.ts";
import { concatBytes, readBodyLimited } from "../../shared/read-body.ts";
import type { AppEnv } from "./context.ts";

const tooLarge = (maxBytes: number) =>
  new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBytes} bytes.` });

const lengthDiffers = () =>
  new GatewayError("invalid_signature", { message: "The body's length differs from the length the edge signed." });

/**
 * The request body, at most `maxBytes` (413 beyond): as edgeSignature already read it, or
 * read now. A body the edge streamed must have the length it signed (401 otherwise).
 */
export async function requestBytes(c: Context<AppEnv>, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const read = c.get("body");
  if (read) return read;
  const bytes = await readBodyLimited(c.req.raw, maxBytes);
  checkStreamedLength(c, bytes?.byteLength ?? 0);
  return bytes;
}

/**
 * An upload (a multipart form, audio bytes) of at most `maxBytes`, read into one buffer: the
 * one copy a retry or a fallback sends again. A declared length over the limit is refused
 * (413) before a byte is read, and a body without one the moment its bytes pass the limit,
 * without reading the rest. With a declared length the buffer is made that size once and
 * filled; without, the pieces are joined at the end (for a moment, twice the bytes).
 */
export async function readUpload(c: Context<AppEnv>, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const read = c.get("body");
  if (read) return read;
  const header = c.req.header("content-length");
  const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
  const signed = c.get("streamedBody")?.length;
  if (declared !== undefined && signed !== undefined && declared !== signed) throw lengthDiffers();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const fail = async (error: GatewayError): Promise<never> => {
    await reader.cancel().catch(() => {});
    throw error;
  };
  const whole = declared === undefined ? undefined : new Uint8Array(declared);
  const pieces: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) return await fail(tooLarge(maxBytes));
    if (whole) {
      // Node frames a body by its Content-Length; more bytes than declared cannot arrive, but a bug must not write past the buffer.
      if (size + value.byteLength > whole.byteLength) return await fail(lengthDiffers());
      whole.set(value, size);
    } else pieces.push(value);
    size += value.byteLength;
  }
  checkStreamedLength(c, size);
  if (!whole) return concatBytes(pieces, size);
  if (size !== whole.byteLength) throw new GatewayError("invalid_request", { message: "The body ended before its declared length." });
  return whole;
}

function checkStreamedLength(c: Context<AppEnv>, size: number): void {
  const signed = c.get("streamedBody");
  if (signed?.length !== undefined && signed.length !== size) throw lengthDiffers();
}
