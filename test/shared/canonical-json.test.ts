import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../shared/canonical-json.ts";

describe("canonical JSON", () => {
  // Known answers from RFC 8785 (JSON Canonicalization Scheme), sections 3.2.2 and 3.2.3.
  it("writes RFC 8785's sample with numbers, escapes and literals byte for byte", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units, as RFC 8785's sorting sample", () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("has no whitespace and sorts nested objects too", () => {
    expect(canonicalJson({ b: [3, { z: 1, a: "x y" }], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[3,{"a":"x y","z":1}]}',
    );
  });

  it("gives the same text whatever order the keys were written in", () => {
    expect(canonicalJson({ a: 1, b: 2, c: 3 })).toBe(canonicalJson({ c: 3, a: 1, b: 2 }));
  });

  it("writes numbers as their shortest round trip, -0 as 0", () => {
    expect(canonicalJson([0, -0, 1, -1.5, 1e21, 1e-7, 123456789012345680000, 0.1 + 0.2])).toBe(
      "[0,0,1,-1.5,1e+21,1e-7,123456789012345680000,0.30000000000000004]",
    );
  });

  it("refuses what JSON cannot say exactly instead of dropping it", () => {
    expect(() => canonicalJson({ a: undefined })).toThrow(/undefined \(at \$\.a\)/);
    expect(() => canonicalJson([Number.NaN])).toThrow(/NaN/);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ at: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalJson(() => 1)).toThrow(/function/);
  });

  it("keeps objects without a prototype", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { y: 2, x: 1 });
    expect(canonicalJson(bare)).toBe('{"x":1,"y":2}');
  });
});
