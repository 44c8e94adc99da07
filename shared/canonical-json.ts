/**
 * Canonical JSON: the one byte sequence a JSON value hashes and signs as, so the audit chain
 * verifies the same on every machine and after a round trip through Postgres.
 *
 * The RFC 8785 (JCS) rules for the values Breakwater writes: object keys sorted by UTF-16
 * code units, no insignificant whitespace, strings and numbers as ECMAScript's
 * `JSON.stringify` writes them (shortest round-trip numbers, `-0` as `0`). Anything JSON
 * cannot say exactly (undefined, functions, symbols, bigint, NaN, Infinity, class instances)
 * throws rather than being dropped silently: two different values must never share a hash.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  return write(value, "$");
}

function write(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no ${value} (at ${path})`);
      return JSON.stringify(value);
    case "object":
      return Array.isArray(value) ? writeArray(value, path) : writeObject(value, path);
    default:
      throw new TypeError(`canonical JSON has no ${typeof value} (at ${path})`);
  }
}

function writeArray(items: unknown[], path: string): string {
  let out = "[";
  for (let index = 0; index < items.length; index++) {
    if (index > 0) out += ",";
    out += write(items[index], `${path}[${index}]`);
  }
  return `${out}]`;
}

function writeObject(object: object, path: string): string {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) throw new TypeError(`canonical JSON takes plain objects only (at ${path})`);
  const record = object as Record<string, unknown>;
  // Default sort compares UTF-16 code units, which is what RFC 8785 asks for.
  const keys = Object.keys(record).sort();
  let out = "{";
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string;
    if (index > 0) out += ",";
    out += `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`)}`;
  }
  return `${out}}`;
}
