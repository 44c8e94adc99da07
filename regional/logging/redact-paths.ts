import { credentialFields } from "../../shared/logging/credential-fields.ts";

/**
 * pino's redact paths: the credential names (shared with the edge) at a record's top level,
 * HTTP's capitalised spelling too. Not `*.name`: pino's wildcard paths cost about 8 µs a line
 * each (measured); nested names are the shared scrubber's, at no cost on a flat record.
 */
export const redactPaths: string[] = credentialFields.flatMap((name) => {
  const spellings = name === "authorization" || name === "cookie" ? [name, name[0]?.toUpperCase() + name.slice(1)] : [name];
  return spellings.map((spelling) => (/^[A-Za-z_$][\w$]*$/.test(spelling) ? spelling : `["${spelling}"]`));
});
