import type { Context } from "hono";
import type { AppEnv } from "./context.ts";
import type { z } from "zod";
import { GatewayError } from "../../shared/error.ts";
import { readBodyLimited } from "../../shared/read-body.ts";
import { parseOrThrow } from "../../shared/validation.ts";

const decoder = new TextDecoder();

/** Reads a JSON body of at most `maxBytes` (413 beyond) and validates it against `schema`. */
export async function readJson<T extends z.ZodType>(c: Context<AppEnv>, schema: T, maxBytes: number): Promise<z.infer<T>> {
  const bytes = c.get("body") ?? (await readBodyLimited(c.req.raw, maxBytes));
  if (!bytes || bytes.byteLength === 0) throw new GatewayError("invalid_json", { message: "The request body is empty; a JSON object is required." });
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new GatewayError("invalid_json", { message: "The request body is not valid JSON." });
  }
  return parseOrThrow(schema, parsed);
}
