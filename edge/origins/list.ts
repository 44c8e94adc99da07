import { isLoopbackHost } from "../../shared/loopback.ts";
/** A regional origin the edge forwards to: its name keys its `OriginBreaker` and shows in `x-breakwater-origin`; its URL stays inside the edge. */
export interface Origin {
  name: string;
  /** Base URL without a trailing slash; the request's path and query are appended to it. */
  url: string;
  /** Continent codes (`request.cf.continent`: AF, AN, AS, EU, NA, OC, SA) that prefer this origin. */
  continents: string[];
}

/** The name of the one origin `REGIONAL_ORIGIN` gives. */
export const singleOriginName = "regional";

const entryPattern = /^([A-Za-z0-9_.-]+)(?::([A-Z0-9]{2}(?:\+[A-Z0-9]{2})*))?=(\S+)$/;

/**
 * `REGIONAL_ORIGINS`: entries separated by spaces, commas or newlines, in order of
 * preference, each `name=url` or `name:EU+AF=url` (preferred by requests from those
 * continents), e.g. `us-east:NA+SA=https://us.example.com eu-west:EU+AF=https://eu.example.com`.
 * Without it, the single `REGIONAL_ORIGIN` URL is the only origin, named `regional`: names
 * reach clients (`x-breakwater-origin`) and public health, hosts never do.
 */
export function parseOrigins(list: string | undefined, single: string | undefined): Origin[] {
  if (list !== undefined && list.trim() !== "") {
    const origins = list
      .split(/[\s,]+/)
      .filter((entry) => entry !== "")
      .map((entry) => {
        const match = entryPattern.exec(entry);
        if (!match) throw new Error(`REGIONAL_ORIGINS has a malformed entry (want name=url or name:EU+NA=url): ${JSON.stringify(entry)}`);
        const [, name = "", continents, url = ""] = match;
        return { name, url: baseUrl("REGIONAL_ORIGINS", url), continents: continents ? continents.split("+") : [] };
      });
    const names = origins.map((origin) => origin.name);
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated !== undefined) throw new Error(`REGIONAL_ORIGINS names ${JSON.stringify(repeated)} twice`);
    return origins;
  }
  const url = baseUrl("REGIONAL_ORIGIN", single ?? "");
  return [{ name: singleOriginName, url, continents: [] }];
}

/** The origins in the order to try for a request from `continent`: those preferring it first, each group in list order. */
export function originsFor(origins: Origin[], continent: string | undefined): Origin[] {
  if (!continent || !origins.some((origin) => origin.continents.includes(continent))) return origins;
  return [
    ...origins.filter((origin) => origin.continents.includes(continent)),
    ...origins.filter((origin) => !origin.continents.includes(continent)),
  ];
}

function baseUrl(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name} is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`${name} is not a URL: ${JSON.stringify(url)}`);
  // Signed calls carry tenant identity and bodies: off this machine, only over TLS.
  if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname))
    throw new Error(`${name} must use https:// (plain http only to a loopback address): ${JSON.stringify(url)}`);
  return url.replace(/\/+$/, "");
}
