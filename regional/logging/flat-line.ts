import { credentialFieldNames } from "../../shared/logging/credential-fields.ts";
import { scrubText } from "../../shared/logging/scrub.ts";

/** A record of one level: no nesting, so it can be written without a general serializer. */
export type FlatFields = Record<string, string | number | boolean | undefined>;

/** Each field name's `,"name":`, or null for one named for a credential; names are the code's own, so few. */
const prefixes = new Map<string, string | null>();

function prefixOf(name: string): string | null {
  let prefix = prefixes.get(name);
  if (prefix === undefined)
    prefixes.set(name, (prefix = credentialFieldNames.has(name.toLowerCase()) ? null : `,${JSON.stringify(name)}:`));
  return prefix;
}

/** The ISO time of the last line's millisecond: lines of one millisecond share it. */
let isoMs = 0;
let iso = "";

function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/**
 * `{"level":"info","time":"<ISO>",...fields,"msg":"..."}` and a line break, as pino writes a
 * line (logger.ts): field names as given (the code's own), string values scrubbed of
 * credentials and credential-named fields redacted as there, a number that is not finite as
 * `null`, as `JSON.stringify` writes it.
 */
export function flatLine(level: string, message: string, fields: FlatFields): string {
  let line = `{"level":"${level}","time":"${isoNow()}"`;
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    const prefix = prefixOf(name);
    if (prefix === null) line += `,${JSON.stringify(name)}:"[redacted]"`;
    else if (typeof value === "string") line += prefix + JSON.stringify(scrubText(value));
    else if (typeof value === "number") line += prefix + (Number.isFinite(value) ? String(value) : "null");
    else line += prefix + (value ? "true" : "false");
  }
  return `${line},"msg":${JSON.stringify(scrubText(message))}}\n`;
}
