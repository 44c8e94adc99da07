import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import { requestBytes } from "./upload-body.ts";
import type { z } from "zod";
import { GatewayError } from "../../shared/error.ts";
import { assertJsonDepth, defaultMaxJsonDepth } from "../../shared/json-depth.ts";
import { parseOrThrow } from "../../shared/validation.ts";

const decoder = new TextDecoder();

/**
 * Reads a JSON body of at most `maxBytes` (413 beyond) and validates it against `schema`.
 * A body nested deeper than `maxDepth` is refused (400) before it is parsed: recursive code
 * further on (`JSON.stringify` to the provider, validation) would overflow the stack on it.
 */
export async function readJson<T extends z.ZodType>(
  c: Context<AppEnv>,
  schema: T,
  maxBytes: number,
  maxDepth = defaultMaxJsonDepth,
): Promise<z.infer<T>> {
  const bytes = await requestBytes(c, maxBytes);
  if (!bytes || bytes.byteLength === 0)
    throw new GatewayError("invalid_json", { message: "The request body is empty; a JSON object is required." });
  assertJsonDepth(bytes, maxDepth);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new GatewayError("invalid_json", { message: "The request body is not valid JSON." });
  }
  return parseOrThrow(schema, parsed);
}
