import { GatewayError } from "../../shared/error.ts";

/** One part of a multipart form: its field name, its file name when it is a file, and where its value lies in the body. */
export interface FormPart {
  name: string;
  filename: string | undefined;
  /** The value is `body.subarray(start, end)`. */
  start: number;
  end: number;
}

const CRLF = Buffer.from("\r\n");
const headersEnd = Buffer.from("\r\n\r\n");

const unreadable = (why: string) => new GatewayError("invalid_request", { message: `The multipart body cannot be read: ${why}.` });

/** The boundary a `multipart/form-data` content type names; null for any other type. */
export function boundaryOf(contentType: string): string | null {
  const [essence, ...params] = contentType.split(";");
  if (essence?.trim().toLowerCase() !== "multipart/form-data") return null;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    if (boundary) return boundary;
  }
  return null;
}

/**
 * Where each part of a multipart form (RFC 7578) lies in its raw bytes, found without copying
 * them: an upload is kept as it arrived, and a part's value is replaced by splicing (see
 * `withValue`), never by parsing the form and encoding it again. A body that does not end
 * with its closing delimiter, or a part without a `Content-Disposition` name, is refused (400).
 */
export function formParts(body: Uint8Array, boundary: string): FormPart[] {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter opens the body or follows a preamble's line break.
  let at = bytes.subarray(0, delimiter.length).equals(delimiter) ? 0 : bytes.indexOf(between);
  if (at < 0) throw unreadable("no boundary");
  if (at > 0) at += CRLF.length;
  const parts: FormPart[] = [];
  for (;;) {
    const after = at + delimiter.length;
    if (bytes[after] === 0x2d && bytes[after + 1] === 0x2d) return parts;
    const lineEnd = bytes.indexOf(CRLF, after);
    if (lineEnd < 0) throw unreadable("it ends inside a boundary line");
    const headersStop = bytes.indexOf(headersEnd, lineEnd);
    if (headersStop < 0) throw unreadable("a part's headers do not end");
    const start = headersStop + headersEnd.length;
    // An empty value: the next delimiter follows the blank line at once.
    const next = bytes.indexOf(between, headersStop + CRLF.length);
    if (next < 0) throw unreadable("it does not end with its closing boundary");
    parts.push({ ...dispositionOf(bytes.toString("utf8", lineEnd + CRLF.length, headersStop)), start, end: next });
    at = next + CRLF.length;
  }
}

function dispositionOf(headers: string): { name: string; filename: string | undefined } {
  const line = headers.split("\r\n").find((header) => /^content-disposition\s*:/i.test(header));
  const name = line && parameter(line, "name");
  if (name === undefined) throw unreadable("a part has no name");
  return { name, filename: line && parameter(line, "filename") };
}

/** A `name="value"` (or unquoted) parameter of a header line. */
function parameter(line: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, "i").exec(line);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2];
}

/** The one part named `name`; undefined when there is none, 400 when there are several (which would a provider read?). */
export function onlyPart(parts: FormPart[], name: string): FormPart | undefined {
  const found = parts.filter((part) => part.name === name);
  if (found.length > 1) throw new GatewayError("invalid_request", { message: `${name} is given more than once.`, param: name });
  return found[0];
}

/** A text part's value. */
export const textOf = (body: Uint8Array, part: FormPart): string => new TextDecoder().decode(body.subarray(part.start, part.end));

/** The body with `part`'s value replaced, in pieces around it: the rest of the upload is sent as it is, not copied. */
export function withValue(body: Uint8Array<ArrayBuffer>, part: FormPart, value: string): Uint8Array<ArrayBuffer>[] {
  return [body.subarray(0, part.start), new TextEncoder().encode(value), body.subarray(part.end)];
}
