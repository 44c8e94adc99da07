import type { CacheSettings } from "../settings.ts";
import { requestDirectives } from "./directives.ts";

/**
 * Whether and how the response cache takes part in a request:
 * - `none`: not a cacheable endpoint; the response carries no X-Cache;
 * - `bypass`: cacheable, but not this time (no-store, `x-breakwater-cache: off`, chat without
 *   opt-in, a body that is not a JSON object): straight to origin, nothing read or stored;
 * - `cache`: looked up (unless `read` is false) and, on a 200, stored for `ttlS`.
 */
export type CachePlan =
  | { kind: "none" }
  | { kind: "bypass" }
  | {
      kind: "cache";
      ttlS: number;
      /** False for `no-cache` / `max-age=0`: go to origin, but store the answer. */
      read: boolean;
      /** The oldest answer the client accepts as fresh, when it said. */
      maxAgeS: number | undefined;
      /** How long past freshness the client accepts an answer when the origin fails, when it said. */
      staleIfErrorS: number | undefined;
    };

interface Rule {
  method: string;
  path: string;
  ttlS: (settings: CacheSettings) => number;
  /** Cached only when the client asks for it. */
  optIn: boolean;
  /** Needs a JSON object body (the key is computed over it). */
  jsonBody: boolean;
}

const rules: Rule[] = [
  { method: "GET", path: "/v1/models", ttlS: (s) => s.modelsTtlS, optIn: false, jsonBody: false },
  { method: "POST", path: "/v1/embeddings", ttlS: (s) => s.embeddingsTtlS, optIn: false, jsonBody: true },
  { method: "POST", path: "/v1/chat/completions", ttlS: (s) => s.chatTtlS, optIn: true, jsonBody: true },
  { method: "GET", path: "/v1/gpu/offers", ttlS: (s) => s.gpuOffersTtlS, optIn: false, jsonBody: false },
];

/** The request header a client opts in (`on`) or out (`off`) with; the edge consumes it (x-breakwater-* never reach regional from clients). */
export const cacheOptHeader = "x-breakwater-cache";

export interface PlanInput {
  method: string;
  path: string;
  headers: Headers;
  /** The body as parsed JSON (undefined for none or not JSON); asked only when a rule needs it. */
  json: () => unknown;
}

export function cachePlan(request: PlanInput, settings: CacheSettings): CachePlan {
  const rule = rules.find((candidate) => candidate.method === request.method && candidate.path === request.path);
  if (!rule || rule.ttlS(settings) === 0) return { kind: "none" };
  const directives = requestDirectives(request.headers.get("cache-control"));
  const opt = request.headers.get(cacheOptHeader)?.trim().toLowerCase();
  if (directives.noStore || opt === "off") return { kind: "bypass" };
  if (rule.optIn) {
    // Chat: `max-age=N` (N > 0) or `x-breakwater-cache: on` opts in; N also shortens the entry's life.
    const optedIn = opt === "on" || (directives.maxAgeS !== undefined && directives.maxAgeS > 0);
    if (!optedIn) return { kind: "bypass" };
  }
  if (rule.jsonBody && !isJsonObject(request.json())) return { kind: "bypass" };
  const maxTtlS = rule.ttlS(settings);
  const ttlS = rule.optIn && directives.maxAgeS ? Math.min(maxTtlS, directives.maxAgeS) : maxTtlS;
  return {
    kind: "cache",
    ttlS,
    read: !directives.noCache && directives.maxAgeS !== 0,
    maxAgeS: directives.maxAgeS,
    staleIfErrorS: directives.staleIfErrorS,
  };
}

function isJsonObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
