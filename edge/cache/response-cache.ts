import { cacheKey } from "../../shared/cache-key.ts";
import { GatewayError } from "../../shared/error.ts";
import { parseJsonBytes } from "../../shared/read-body.ts";
import type { RequestIds } from "../log.ts";
import type { Settings } from "../settings.ts";
import { capture } from "./capture.ts";
import { isFresh, isUsableStale, marked, replay, type Acceptance, type CacheEntry } from "./entry.ts";
import { lookup, release, served, store, type Found } from "./levels.ts";
import { cachePlan } from "./rules.ts";
import { joinFlight } from "./single-flight.ts";
import { countOutcome, countWrite } from "./stats.ts";

/** What the cache needs of the request. */
export interface CacheRequest {
  method: string;
  path: string;
  url: string;
  headers: Headers;
  tenantId: string;
  /** The body as read at the edge; parsed only for requests a rule may cache, and then once. */
  body: Uint8Array | null;
}

/** What it needs of the edge: its settings, and the request's id and `waitUntil` for logs and background writes. */
export interface CacheScope extends RequestIds {
  settings: Pick<Settings, "cache" | "upstash" | "originTimeoutMs">;
  waitUntil(promise: Promise<unknown>): void;
}

/** An answer and whether it came without an origin call of this request's own (then no tokens are charged). */
export interface CacheAnswer {
  response: Response;
  fromCache: boolean;
}

/**
 * The two-level response cache's part in one request (rules in `rules.ts`). Opened before
 * the rate limiter, so the lookup's round trips overlap the limiter's; then, in order:
 * `answer()` before the origin call, `forwarded()` with what it gave, and `close()` when the
 * request is done, whether or not it got that far.
 */
export interface ResponseCache {
  /**
   * A fresh entry from this isolate's memory, this location's Cache API (HIT-EDGE) or
   * Upstash (HIT-REDIS, refilling the levels in front in the background), or the entry an
   * identical request's origin call under way just made; null: call the origin.
   */
  answer(): Promise<Response | null>;
  /**
   * What the client gets for the origin's answer (or `error`, how the call failed): marked
   * with X-Cache, a 200 stored off the response path (a stream teed, kept only when
   * complete), or, when the origin failed, an entry still within its stale window (STALE,
   * with `x-breakwater-degraded: stale`).
   */
  forwarded(response: Response, error: Error | undefined): Promise<CacheAnswer>;
  /** Releases what the lookup holds and nobody used, and lets identical requests waiting on this one go their own way. */
  close(): void;
}

/** Failures of the forward that a stale entry may stand in for; an origin 5xx counts too. */
const staleableCodes = new Set(["origin_unreachable", "upstream_timeout", "circuit_open", "unavailable"]);

/** Decides whether the request is cacheable and, when it is, computes its key and starts the lookup. */
export async function openResponseCache(request: CacheRequest, scope: CacheScope): Promise<ResponseCache> {
  let json: { value: unknown } | undefined;
  const body = (): unknown => (json ??= { value: parseJsonBytes(request.body) }).value;
  const plan = cachePlan({ method: request.method, path: request.path, headers: request.headers, json: body }, scope.settings.cache);
  if (plan.kind === "none") return uninvolved;
  if (plan.kind === "bypass") return bypassed;

  const { settings, waitUntil } = scope;
  const ids: RequestIds = { requestId: scope.requestId, traceId: scope.traceId };
  const startedAt = performance.now();
  const query = new URL(request.url).search.slice(1);
  const key = await cacheKey({ tenantId: request.tenantId, method: request.method, path: request.path, query, body: body() });
  const accept: Acceptance = { maxAgeS: plan.maxAgeS, staleIfErrorS: plan.staleIfErrorS };
  /** How long the key and the lookup took (it overlaps the rate limiter's check). */
  let lookupMs = 0;
  const pending = plan.read
    ? lookup(settings.upstash, key, accept, ids)
        .catch(() => null)
        .finally(() => (lookupMs = performance.now() - startedAt))
    : null;
  lookupMs = performance.now() - startedAt;

  let answering = false;
  /** Whether the lookup's result came back: what it did not find is not looked for again when the origin fails. */
  let searched = false;
  /** What the lookup found, kept to stand in for a failing origin until it is served or released. */
  let held: Found | null = null;
  let leader: ((entry: CacheEntry | null) => void) | null = null;

  return {
    async answer() {
      answering = true;
      if (!pending) return null;
      held = await pending;
      searched = true;
      if (held && isFresh(held.meta, accept, Date.now())) {
        const found = held;
        held = null;
        countOutcome(found.level === "redis" ? "hit-redis" : "hit-edge");
        return timed(served(found, found.level === "redis" ? "HIT-REDIS" : "HIT-EDGE", { key, waitUntil }), lookupMs);
      }
      const flight = joinFlight(key, settings.originTimeoutMs);
      if (flight.role === "leader") {
        leader = flight.finish;
        return null;
      }
      const entry = await flight.entry;
      if (!entry) return null;
      release(held);
      held = null;
      countOutcome("coalesced");
      return replay(entry, "MISS", Date.now());
    },

    async forwarded(response, error) {
      if (failed(response, error)) {
        if (!searched) held = await lookup(settings.upstash, key, accept, ids);
        if (held && isUsableStale(held.meta, accept, Date.now())) {
          await response.body?.cancel();
          const found = held;
          held = null;
          countOutcome("stale");
          const stale = served(found, "STALE", null);
          // As regional marks its own stale answers: a client or tool can tell a stand-in from a fresh answer.
          stale.headers.set("x-breakwater-degraded", "stale");
          return { response: stale, fromCache: true };
        }
        countOutcome("miss");
        return { response: marked(response, "MISS", undefined), fromCache: false };
      }
      countOutcome("miss");
      let answer = response;
      if (response.status === 200 && !noStore(response.headers.get("cache-control"))) {
        const captured = capture(response, { storedAt: Date.now(), ttlS: plan.ttlS, staleS: settings.cache.staleIfErrorS });
        answer = captured.response;
        const finish = leader;
        // The flight ends with the stored entry, not with this request.
        leader = null;
        waitUntil(
          captured.entry
            .catch(() => null)
            .then(async (entry) => {
              finish?.(entry);
              if (entry) await store(settings.upstash, key, entry, ids);
              else countWrite("skipped");
            }),
        );
      }
      return { response: timed(marked(answer, "MISS", undefined), lookupMs), fromCache: false };
    },

    close() {
      // Refused before its answer (the rate limiter): the lookup may still be under way.
      if (!answering) void pending?.then(release);
      release(held);
      held = null;
      leader?.(null);
      leader = null;
    },
  };
}

/** Not a cacheable endpoint: the response carries no X-Cache. */
const uninvolved: ResponseCache = {
  answer: async () => null,
  forwarded: async (response) => ({ response, fromCache: false }),
  close() {},
};

/** Cacheable, but not this time: straight to the origin, nothing read or stored. */
const bypassed: ResponseCache = {
  answer: async () => null,
  async forwarded(response) {
    countOutcome("bypass");
    return { response: marked(response, "BYPASS", undefined), fromCache: false };
  },
  close() {},
};

/** The forward failed in a way a stale answer may cover: the origin unreachable, timing out, open, or answering 5xx. */
function failed(response: Response, error: Error | undefined): boolean {
  if (error) return error instanceof GatewayError && staleableCodes.has(error.code);
  return response.status >= 500;
}

function noStore(cacheControl: string | null): boolean {
  return cacheControl !== null && /(^|,)\s*no-store\s*(,|$)/i.test(cacheControl);
}

/**
 * `Server-Timing: edge-cache;dur=<ms>`: the time the cache's key and lookups took inside the
 * edge (I/O waits included; they overlap the rate limiter's check).
 */
function timed(response: Response, durationMs: number): Response {
  try {
    response.headers.append("server-timing", `edge-cache;dur=${durationMs.toFixed(2)}`);
  } catch {
    // Headers that cannot change keep their timing to themselves.
  }
  return response;
}
