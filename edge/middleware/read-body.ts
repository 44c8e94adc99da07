import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppEnv } from "../env.ts";

/** Largest request body the edge accepts, as the regional tier does by default. */
export const maxBodyBytes = 1024 * 1024;

/**
 * Reads the request body whole (it is hashed into the signature and estimated for the
 * token limit) and puts it on the context as `body`. Bodies over 1 MiB get 413, by their
 * Content-Length or, without one, as soon as the bytes read pass the limit.
 */
export const readBody = (): MiddlewareHandler<AppEnv> =>
  async function readBody(c, next) {
    c.set("body", await bodyBytes(c.req.raw));
    await next();
  };

async function bodyBytes(request: Request): Promise<Uint8Array | null> {
  const tooLarge = () => new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBodyBytes} bytes.` });
  if (Number(request.headers.get("content-length")) > maxBodyBytes) throw tooLarge();
  if (!request.body) return null;
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}
