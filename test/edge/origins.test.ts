import { describe, expect, it } from "vitest";
import { originsFor, parseOrigins } from "../../edge/origins/list.ts";

describe("REGIONAL_ORIGINS", () => {
  it("reads named origins in order, with the continents that prefer them", () => {
    const origins = parseOrigins(
      "us-east:NA+SA=https://us.example.com/ ,eu-west:EU=https://eu.example.com\n  ap=http://127.0.0.3:8788",
      "http://127.0.0.1:1",
    );

    expect(origins).toEqual([
      { name: "us-east", url: "https://us.example.com", continents: ["NA", "SA"] },
      { name: "eu-west", url: "https://eu.example.com", continents: ["EU"] },
      { name: "ap", url: "http://127.0.0.3:8788", continents: [] },
    ]);
  });

  it("falls back to the single REGIONAL_ORIGIN, named `regional`: its host is never a name clients see", () => {
    expect(parseOrigins(undefined, "http://127.0.0.1:8788/")).toEqual([{ name: "regional", url: "http://127.0.0.1:8788", continents: [] }]);
    expect(parseOrigins("  ", "http://127.0.0.1:8788")).toHaveLength(1);
  });

  it("names the mistake in a malformed list", () => {
    expect(() => parseOrigins("us-east https://us.example.com", undefined)).toThrow(/malformed entry.*"us-east"/);
    expect(() => parseOrigins("a=ftp://x", undefined)).toThrow(/REGIONAL_ORIGINS is not a URL/);
    expect(() => parseOrigins("a=https://x a=https://y", undefined)).toThrow(/names "a" twice/);
    expect(() => parseOrigins(undefined, "nowhere")).toThrow(/REGIONAL_ORIGIN is not a URL/);
  });

  it("refuses plain http:// to anything but a loopback address: signed calls go off the machine only over TLS", () => {
    expect(() => parseOrigins("eu=http://eu.example.com", undefined)).toThrow(/must use https:\/\//);
    expect(() => parseOrigins(undefined, "http://10.0.0.3:8788")).toThrow(/must use https:\/\//);
    expect(parseOrigins("dev=http://localhost:8788 ip6=http://[::1]:8788", undefined).map((origin) => origin.url)).toEqual([
      "http://localhost:8788",
      "http://[::1]:8788",
    ]);
  });

  it("puts the origins that prefer the request's continent first, keeping list order otherwise", () => {
    const origins = parseOrigins("us:NA=https://us eu:EU=https://eu eu2:EU+AF=https://eu2 any=https://any", undefined);
    const names = (continent: string | undefined) => originsFor(origins, continent).map((origin) => origin.name);

    expect(names("EU")).toEqual(["eu", "eu2", "us", "any"]);
    expect(names("AF")).toEqual(["eu2", "us", "eu", "any"]);
    expect(names("OC")).toEqual(["us", "eu", "eu2", "any"]);
    expect(names(undefined)).toEqual(["us", "eu", "eu2", "any"]);
  });
});
