import { describe, expect, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import { assertJsonDepth, defaultMaxJsonDepth, jsonNestedDeeperThan } from "../../shared/json-depth.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
/** `depth` arrays one inside the other, in an unknown field of a chat request (depth + 1 in all). */
const nestedBody = (depth: number) => bytes(`{"model":"mock/echo","messages":[],"extra":${"[".repeat(depth)}${"]".repeat(depth)}}`);

describe("JSON depth scan", () => {
  it("passes a body exactly at the limit and refuses one level more", () => {
    expect(jsonNestedDeeperThan(nestedBody(63), 64)).toBe(false);
    expect(jsonNestedDeeperThan(nestedBody(64), 64)).toBe(true);
    expect(jsonNestedDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(jsonNestedDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
  });

  it("counts the depth of the deepest branch, not the brackets in all", () => {
    const wide = `[${Array.from({ length: 1_000 }, () => "[[1]]").join(",")}]`;
    expect(jsonNestedDeeperThan(bytes(wide), 3)).toBe(false);
    expect(jsonNestedDeeperThan(bytes(wide), 2)).toBe(true);
  });

  it("ignores brackets inside strings", () => {
    const text = JSON.stringify({ content: "[".repeat(500) + "{".repeat(500), name: "]]]}}}" });
    expect(jsonNestedDeeperThan(bytes(text), 1)).toBe(false);
  });

  it("ignores escaped quotes: a string ends only at an unescaped quote", () => {
    // The string holds `say \"[[[[\"`: the escaped quotes do not end it, so its brackets do not count.
    expect(jsonNestedDeeperThan(bytes(JSON.stringify({ content: 'say "[[[[["' })), 1)).toBe(false);
    // `\\` is an escaped backslash: the quote after it ends the string and the brackets after count.
    const afterBackslash = bytes(`{"content":"ends with \\\\","x":[[[1]]]}`);
    expect(JSON.parse(new TextDecoder().decode(afterBackslash))).toEqual({ content: "ends with \\", x: [[[1]]] });
    expect(jsonNestedDeeperThan(afterBackslash, 4)).toBe(false);
    expect(jsonNestedDeeperThan(afterBackslash, 3)).toBe(true);
  });

  it("reads multi-byte UTF-8 without mistaking its bytes for quotes or brackets", () => {
    expect(jsonNestedDeeperThan(bytes(JSON.stringify({ content: '日本語 [ émoji 🎉 " {' })), 1)).toBe(false);
    expect(jsonNestedDeeperThan(bytes(JSON.stringify({ "🎉": [["日本"]] })), 2)).toBe(true);
  });

  it("refuses 50,000 nested arrays at once, without overflowing the stack", () => {
    const deep = nestedBody(50_000);
    const started = performance.now();
    expect(jsonNestedDeeperThan(deep, defaultMaxJsonDepth)).toBe(true);
    // It stops at the first level past the limit; generous bound for slow CI machines.
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("scans a 1 MiB body of 500,000 levels without throwing a RangeError", () => {
    const deep = bytes("[".repeat(500_000) + "]".repeat(500_000));
    expect(() => jsonNestedDeeperThan(deep, 1_000_000)).not.toThrow();
    expect(jsonNestedDeeperThan(deep, 499_999)).toBe(true);
  });

  it("leaves text that is not JSON to the parser: an unterminated string is not deep", () => {
    expect(jsonNestedDeeperThan(bytes('{"a":"[[[[[['), 2)).toBe(false);
    expect(jsonNestedDeeperThan(new Uint8Array(0), 0)).toBe(false);
  });

  it("refuses a too-deep body with 400 invalid_request naming the limit", () => {
    const error = (() => {
      try {
        assertJsonDepth(nestedBody(50_000), 64);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "invalid_request", status: 400, message: "The request body is nested deeper than 64 levels." });
    expect(() => assertJsonDepth(nestedBody(63), 64)).not.toThrow();
  });
});
