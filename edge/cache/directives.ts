/** What a request's `Cache-Control` asks of the response cache (RFC 9111 §5.2.1, RFC 5861). */
export interface RequestDirectives {
  noStore: boolean;
  noCache: boolean;
  /** Oldest answer the client accepts, in seconds. */
  maxAgeS: number | undefined;
  /** How long past freshness the client accepts an answer when the origin fails. */
  staleIfErrorS: number | undefined;
}

/** Parses `Cache-Control`; unknown directives and malformed values are ignored, as RFC 9111 asks. */
export function requestDirectives(header: string | null | undefined): RequestDirectives {
  const directives: RequestDirectives = { noStore: false, noCache: false, maxAgeS: undefined, staleIfErrorS: undefined };
  if (!header) return directives;
  for (const part of header.split(",")) {
    const [rawName = "", rawValue] = part.split("=", 2);
    const name = rawName.trim().toLowerCase();
    if (name === "no-store") directives.noStore = true;
    else if (name === "no-cache") directives.noCache = true;
    else if (name === "max-age") directives.maxAgeS = seconds(rawValue);
    else if (name === "stale-if-error") directives.staleIfErrorS = seconds(rawValue);
  }
  return directives;
}

function seconds(value: string | undefined): number | undefined {
  const text = value?.trim().replace(/^"(.*)"$/, "$1");
  return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}
