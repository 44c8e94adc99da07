import { GatewayError } from "../../shared/error.ts";
import type { StreamedUpload } from "./streamed-upload.ts";

const tooLarge = (maxBytes: number) => new GatewayError("payload_too_large", { message: `The upload is larger than ${maxBytes} bytes.` });

/**
 * The request's body as a streamed upload of at most `maxBytes`, or null without a body. A
 * declared length over the limit is refused (413) before a byte is read; a declared length
 * within it goes on as a fixed-length stream, so the origin gets the same Content-Length. A
 * body without one is counted as it passes, and the count past the limit stops reading and
 * fires `overflow`, which the caller aborts the origin call with.
 */
export function streamedUpload(request: Request, maxBytes: number): StreamedUpload | null {
  const declared = request.headers.get("content-length");
  const length = declared !== null && /^\s*\d+\s*$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return null;
  const overflow = new AbortController();
  if (length !== undefined) {
    const fixed = new FixedLengthStream(length);
    // A client that leaves mid-upload errors the fixed stream, and so the origin call, which ends with it.
    request.body.pipeTo(fixed.writable).catch(() => {});
    return { stream: fixed.readable, length, overflow: overflow.signal };
  }
  let size = 0;
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size <= maxBytes) return controller.enqueue(chunk);
      // The origin call is aborted (see `overflow`), which ends the stream; erroring it as well
      // would only add unhandled rejections inside the runtime. Nothing more is read meanwhile.
      overflow.abort(tooLarge(maxBytes));
      return new Promise<void>(() => {});
    },
  });
  // When the aborted call cancels the stream, the pipe cancels the client's body too: the rest is never read.
  request.body.pipeTo(counted.writable).catch(() => {});
  return { stream: counted.readable, length: undefined, overflow: overflow.signal };
}
