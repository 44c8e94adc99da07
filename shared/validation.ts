import type { z } from "zod";
import { GatewayError } from "./error.ts";

/** `messages.0.role` → `messages[0].role`, the way OpenAI names a `param`. */
function paramName(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((name, key) => {
    if (typeof key === "number") return `${name}[${key}]`;
    return name ? `${name}.${String(key)}` : String(key);
  }, "");
}

/** Parses a value against a schema, or throws a 400 that names the first bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue ? paramName(issue.path) : "";
  const message = issue ? `${param || "body"}: ${issue.message}` : "The request is invalid.";
  throw new GatewayError("invalid_request", { message, param: param || undefined });
}
