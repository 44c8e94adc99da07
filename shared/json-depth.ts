import { GatewayError } from "./error.ts";

/** How deep a request body may nest arrays and objects unless configured otherwise. */
export const defaultMaxJsonDepth = 64;
/**
 * The highest depth either tier may be configured to allow: well below where recursive
 * code (`JSON.stringify`, canonical JSON, validation) would overflow the stack.
 */
export const maxJsonDepthCeiling = 1_000;

const quote = 0x22;
const backslash = 0x5c;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const openBrace = 0x7b;
const closeBrace = 0x7d;

/**
 * Whether the JSON in `bytes` nests arrays and objects deeper than `maxDepth`. One pass,
 * no recursion and no parse, so a hostile body cannot overflow the stack here; brackets
 * inside strings do not count. Bytes are scanned as UTF-8: no byte of a multi-byte
 * character is ASCII, so none is taken for a quote or a bracket. Bytes that are not JSON
 * are only scanned, never judged: the parser after this rejects them.
 */
export function jsonNestedDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte === quote) {
      i = closingQuote(bytes, i);
      if (i < 0) return false;
    } else if (byte === openBracket || byte === openBrace) {
      if (++depth > maxDepth) return true;
    } else if ((byte === closeBracket || byte === closeBrace) && depth > 0) {
      depth--;
    }
  }
  return false;
}

/**
 * The index of the quote that ends the string opened at `open`, or -1 if none does.
 * Strings are most of a request body, so they are skipped with the native `indexOf`; a
 * quote ends the string when an even number of backslashes precedes it (`\\"` ends,
 * `\"` does not). Each backslash is looked at once more at most, so this stays O(n).
 */
function closingQuote(bytes: Uint8Array, open: number): number {
  let at = open;
  for (;;) {
    at = bytes.indexOf(quote, at + 1);
    if (at < 0) return -1;
    let before = at - 1;
    while (bytes[before] === backslash) before--;
    if ((at - 1 - before) % 2 === 0) return at;
  }
}

/** Refuses a body nested deeper than `maxDepth` with 400 `invalid_request`, before anything parses it. */
export function assertJsonDepth(bytes: Uint8Array, maxDepth: number): void {
  if (jsonNestedDeeperThan(bytes, maxDepth)) {
    throw new GatewayError("invalid_request", { message: `The request body is nested deeper than ${maxDepth} levels.` });
  }
}
