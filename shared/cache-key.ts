import { canonicalJson } from "./canonical-json.ts";
import { sha256Hex } from "./signing.ts";

/**
 * The response-cache key: SHA-256 over the tenant, method, path, query and the request body
 * normalised, so two tenants never share an entry, equivalent requests (keys reordered,
 * defaults spelled out or left out) share one, and any other difference gives another key.
 *
 * `stream` is part of the key (only `stream: false`, the default, is dropped): an entry stored
 * from a stream is replayed as SSE and one stored from a JSON answer as JSON, and a client
 * must get the shape it asked for.
 */
export interface CacheKeyRequest {
  tenantId: string;
  method: string;
  path: string;
  /** The URL's query without `?`; parameter order does not matter. */
  query: string;
  /** The request body as parsed JSON, or undefined for none. */
  body: unknown;
}

/** Values the API treats as if the field were absent, per endpoint (top-level fields only). */
const defaults: Record<string, Record<string, unknown>> = {
  "/v1/chat/completions": {
    temperature: 1,
    top_p: 1,
    n: 1,
    stream: false,
    presence_penalty: 0,
    frequency_penalty: 0,
    logprobs: false,
    parallel_tool_calls: true,
    store: false,
  },
  "/v1/embeddings": { encoding_format: "float" },
};

/** Bump when the key's inputs or the stored entry's shape change, so old entries are never read. */
const keyVersion = "bw-cache-v1";

export async function cacheKey(request: CacheKeyRequest): Promise<string> {
  const inputs = [
    keyVersion,
    request.tenantId,
    request.method.toUpperCase(),
    request.path,
    normalizedQuery(request.query),
    normalizedBody(request.path, request.body) ?? null,
  ];
  return await sha256Hex(canonicalJson(inputs));
}

/** The Upstash key under which the edge keeps the response-cache entry of a cache key. */
export function responseCacheRedisKey(key: string): string {
  return `bw:cache:${key}`;
}

/** Query parameters sorted by name, then value; repeated names keep all their values. */
export function normalizedQuery(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  new URLSearchParams(query).forEach((value, name) => pairs.push([name, value]));
  return pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
}

/**
 * The body with top-level nulls and the endpoint's defaults dropped; `stream_options` only
 * counts for a stream, and without `include_usage`: the edge asks every stream for its usage
 * and a replay leaves the usage chunk out unless the client asked. Nested values are kept as
 * they are (canonical JSON sorts their keys).
 */
export function normalizedBody(path: string, body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const dropped = defaults[path] ?? {};
  const record = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (value === null || value === undefined) continue;
    if (Object.hasOwn(dropped, name) && dropped[name] === value) continue;
    if (name === "stream_options") {
      const options = streamOptionsWithoutUsage(value);
      if (record.stream === true && options !== undefined) out[name] = options;
      continue;
    }
    out[name] = value;
  }
  return out;
}

function streamOptionsWithoutUsage(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const { include_usage: _usage, ...rest } = value as Record<string, unknown>;
  return Object.keys(rest).length > 0 ? rest : undefined;
}
