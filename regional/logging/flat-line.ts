import { credentialFieldNames } from "../../shared/logging/credential-fields.ts";
import { scrubText } from "../../shared/logging/scrub.ts";

/** A record of one level: no nesting, so it can be written without a general serializer. */
export type FlatFields = Record<string, string | number | boolean | undefined>;

/**
 * `{"level":"info","time":"<ISO>",...fields,"msg":"..."}` and a line break, as pino writes a
 * line (logger.ts): field names as given (the code's own), string values scrubbed of
 * credentials and credential-named fields redacted as there, a number that is not finite as
 * `null`, as `JSON.stringify` writes it.
 */
export function flatLine(level: string, message: string, fields: FlatFields): string {
  let line = `{"level":"${level}","time":"${new Date().toISOString()}"`;
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    line += `,${JSON.stringify(name)}:`;
    if (credentialFieldNames.has(name.toLowerCase())) line += `"[redacted]"`;
    else if (typeof value === "string") line += JSON.stringify(scrubText(value));
    else if (typeof value === "number") line += Number.isFinite(value) ? String(value) : "null";
    else line += value ? "true" : "false";
  }
  return `${line},"msg":${JSON.stringify(scrubText(message))}}\n`;
}
