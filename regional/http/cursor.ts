import type { z } from "zod";
import { GatewayError } from "../../shared/error.ts";

/** An opaque page cursor: base64url of JSON, so clients pass it back without reading it. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** The position in a cursor, or a 400 naming `cursor` when it is not one this API gave out. */
export function decodeCursor<T extends z.ZodType>(cursor: string, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new GatewayError("invalid_request", { message: "cursor: not a cursor from a previous page.", param: "cursor" });
  return parsed.data;
}
