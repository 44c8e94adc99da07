import type { Context } from "hono";
import type { z } from "zod";
import { GatewayError } from "../../shared/error.ts";
import { parseOrThrow } from "../../shared/validation.ts";

/**
 * Reads a JSON body of at most `maxBytes`, counting bytes as they arrive so a body without
 * `Content-Length` cannot grow past the limit either, and validates it against `schema`.
 */
export async function readJson<T extends z.ZodType>(c: Context, schema: T, maxBytes: number): Promise<z.infer<T>> {
  const tooLarge = () => new GatewayError("payload_too_large", { message: `The request body is larger than ${maxBytes} bytes.` });
  const declared = Number(c.req.header("content-length"));
  if (declared > maxBytes) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) throw new GatewayError("invalid_json", { message: "The request body is empty; a JSON object is required." });

  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
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

  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(parts, size).toString("utf8"));
  } catch {
    throw new GatewayError("invalid_json", { message: "The request body is not valid JSON." });
  }
  return parseOrThrow(schema, parsed);
}
