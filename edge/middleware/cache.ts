import type { Context, MiddlewareHandler } from "hono";
import { cacheKey } from "../../shared/cache-key.ts";
import { GatewayError } from "../../shared/error.ts";
import { capture } from "../cache/capture.ts";
import {
  isFresh,
  isUsableStale,
  marked,
  replay,
  storableHeaders,
  type Acceptance,
  type CacheEntry,
  type EntryMeta,
  type XCache,
} from "../cache/entry.ts";
import { l1Get, l1Put, type L1Hit } from "../cache/l1.ts";
import { l2Get, l2Put } from "../cache/l2.ts";
import { memoryGet, memoryPut } from "../cache/memory.ts";
import { cachePlan, type CachePlan } from "../cache/rules.ts";
import { joinFlight } from "../cache/single-flight.ts";
import { countOutcome, countWrite } from "../cache/stats.ts";
import type { AppEnv } from "../context.ts";
import type { Found, StartedLookup } from "../cache/lookup.ts";
import { errorText, log } from "../log.ts";
import { settingsOf, type Settings } from "../settings.ts";
import { parseJsonBytes } from "../../shared/read-body.ts";

/** Failures of the forward that a stale entry may stand in for; an origin 5xx counts too. */
const staleableCodes = new Set(["origin_unreachable", "upstream_timeout", "circuit_open", "unavailable"]);

/**
 * The cache's first step, placed before the rate limiter: decides whether the request is
 * cacheable, computes its key and starts the L1/L2 lookup, so the lookup's round trips run
 * while the limiter's Durable Object answers instead of after it. A request the limiter
 * refuses never reaches `cache`; its lookup's body is released here.
 */
export const cacheLookup = (): MiddlewareHandler<AppEnv> =>
  async function cacheLookup(c, next) {
    const settings = settingsOf(c.env);
    // Parsed only for requests a rule may cache, and then once.
    let json: { value: unknown } | undefined;
    const body = (): unknown => (json ??= { value: parseJsonBytes(c.get("body")) }).value;
    const plan = cachePlan({ method: c.req.method, path: c.req.path, headers: c.req.raw.headers, json: body }, settings.cache);
    if (plan.kind !== "cache") {
      c.set("cacheLookup", plan.kind === "none" ? { kind: "none", taken: false } : { kind: "bypass", taken: false });
      return await next();
    }
    const startedAt = performance.now();
    const query = new URL(c.req.url).search.slice(1);
    const key = await cacheKey({ tenantId: c.get("key").tenant_id, method: c.req.method, path: c.req.path, query, body: body() });
    const accept: Acceptance = { maxAgeS: plan.maxAgeS, staleIfErrorS: plan.staleIfErrorS };
    const found = plan.read
      ? lookup(settings, key, accept, c.get("requestId"))
          .catch(() => null)
          .finally(() => (started.lookupMs = performance.now() - startedAt))
      : null;
    const started: Extract<StartedLookup, { kind: "cache" }> = {
      kind: "cache",
      plan,
      taken: false,
      key,
      accept,
      found,
      lookupMs: performance.now() - startedAt,
    };
    c.set("cacheLookup", started);
    try {
      await next();
    } finally {
      if (!started.taken) void found?.then(release);
    }
  };

/**
 * The two-level response cache in front of forward (rules in edge/cache/rules.ts): answers
 * fresh entries from this isolate's memory or this location's Cache API (HIT-EDGE) or
 * Upstash (HIT-REDIS, refilling memory and L1 in the background), coalesces identical concurrent misses into one origin call, stores
 * 200 answers off the response path (streams teed, kept only when complete), and when the
 * origin fails serves an expired entry still within its stale window (STALE). Every
 * cacheable response carries X-Cache, and Age when it came from the cache.
 */
export const cache = (): MiddlewareHandler<AppEnv> =>
  async function cache(c, next) {
    const started = c.get("cacheLookup");
    if (!started) throw new Error("cache() runs after cacheLookup()");
    started.taken = true;
    if (started.kind === "none") return await next();
    if (started.kind === "bypass") {
      await next();
      countOutcome("bypass");
      mark(c, "BYPASS");
      return;
    }

    const settings = settingsOf(c.env);
    const { plan, key, accept } = started;
    const requestId = c.get("requestId");
    const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);

    let found: Found | null = null;
    let leader: ((entry: CacheEntry | null) => void) | null = null;
    if (started.found) {
      found = await started.found;
      if (found && isFresh(found.meta, accept, Date.now()))
        return timed(serveFound(c, found, found.level === "redis" ? "HIT-REDIS" : "HIT-EDGE", { key, waitUntil }), started.lookupMs);
      const flight = joinFlight(key, settings.originTimeoutMs);
      if (flight.role === "follower") {
        const entry = await flight.entry;
        if (entry) {
          release(found);
          countOutcome("coalesced");
          c.set("cacheServed", true);
          return replay(entry, "MISS", Date.now());
        }
      } else leader = flight.finish;
    }

    let handedOver = false;
    try {
      // Hono turns a failure further on into c.res (onError) and keeps the error in c.error.
      await next();
      if (failed(c)) {
        found ??= await lookup(settings, key, accept, requestId);
        if (found && isUsableStale(found.meta, accept, Date.now())) {
          await c.res.body?.cancel();
          // Unset first: Hono would otherwise copy the error's headers (Retry-After...) onto the stale answer.
          c.res = undefined;
          c.res = serveFound(c, found, "STALE", null);
          found = null;
          return;
        }
        countOutcome("miss");
        mark(c, "MISS");
        return;
      }
      countOutcome("miss");
      if (c.res.status === 200 && !noStore(c.res.headers.get("cache-control"))) {
        const captured = capture(c.res, { storedAt: Date.now(), ttlS: plan.ttlS, staleS: settings.cache.staleIfErrorS });
        c.res = captured.response;
        const finish = leader;
        handedOver = true;
        waitUntil(
          captured.entry
            .catch(() => null)
            .then(async (entry) => {
              finish?.(entry);
              if (entry) await store(settings, key, entry, requestId);
              else countWrite("skipped");
            }),
        );
      }
      mark(c, "MISS");
      timed(c.res, started.lookupMs);
    } finally {
      release(found);
      if (!handedOver) leader?.(null);
    }
  };

/**
 * A fresh (or, after a failure, stale) entry as the response. A fresh L1 hit is copied into
 * this isolate's memory and a fresh L2 hit into memory and L1, in the background.
 */
function serveFound(
  c: Context<AppEnv>,
  found: Found,
  xCache: XCache,
  refill: { key: string; waitUntil: (promise: Promise<unknown>) => void } | null,
): Response {
  countOutcome(xCache === "HIT-EDGE" ? "hit-edge" : xCache === "HIT-REDIS" ? "hit-redis" : "stale");
  c.set("cacheServed", true);
  const now = Date.now();
  if (found.level === "edge") {
    if (refill) {
      const copy = found.hit.response.clone();
      const meta = found.meta;
      refill.waitUntil(
        copy.text().then(
          (body) => memoryPut(refill.key, { ...meta, headers: storableHeaders(copy.headers), body }),
          () => {},
        ),
      );
    }
    return marked(found.hit.response, xCache, now - found.meta.storedAt);
  }
  if (refill && found.level === "redis") {
    memoryPut(refill.key, found.entry);
    refill.waitUntil(l1Put(refill.key, found.entry, now).catch(() => countWrite("failed")));
  }
  return replay(found.entry, xCache, now);
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

/** X-Cache (and Age 0 unless the origin's answer says otherwise) on the response the origin gave. */
function mark(c: Context<AppEnv>, xCache: XCache): void {
  const response = marked(c.res, xCache, undefined);
  if (response === c.res) return;
  c.res = undefined;
  c.res = response;
}

/** This isolate's memory, then L1, then L2, each only when the one before has nothing fresh; else the freshest stale one. */
async function lookup(settings: Settings, key: string, accept: Acceptance, requestId: string): Promise<Found | null> {
  const inMemory = memoryGet(key, Date.now());
  const memory: Found | null = inMemory ? { level: "memory", meta: inMemory, entry: inMemory } : null;
  if (memory && isFresh(memory.meta, accept, Date.now())) return memory;
  const hit = await l1Get(key).catch(() => null);
  const edge: Found | null = hit ? { level: "edge", meta: hit.meta, hit } : null;
  if (edge && isFresh(edge.meta, accept, Date.now())) return edge;
  const entry = await l2Get(settings, key, requestId);
  const redis: Found | null = entry ? { level: "redis", meta: entry, entry } : null;
  const newest = [memory, edge, redis].reduce<Found | null>(
    (best, next) => (next && (!best || next.meta.storedAt > best.meta.storedAt) ? next : best),
    null,
  );
  if (newest !== edge) release(edge);
  return newest;
}

async function store(settings: Settings, key: string, entry: CacheEntry, requestId: string): Promise<void> {
  memoryPut(key, entry);
  const now = Date.now();
  const [l1, l2] = await Promise.allSettled([l1Put(key, entry, now), l2Put(settings, key, entry, now, requestId)]);
  if (l1.status === "rejected")
    log("warn", "could not store a response in the Cache API", { request_id: requestId, error: errorText(l1.reason) });
  countWrite(l1.status === "fulfilled" && l2.status === "fulfilled" && l2.value ? "stored" : "failed");
}

/** The forward failed in a way a stale answer may cover: the origin unreachable, timing out, open, or answering 5xx. */
function failed(c: Context<AppEnv>): boolean {
  if (c.error) return c.error instanceof GatewayError && staleableCodes.has(c.error.code);
  return c.res.status >= 500;
}

function noStore(cacheControl: string | null): boolean {
  return cacheControl !== null && /(^|,)\s*no-store\s*(,|$)/i.test(cacheControl);
}

/** An unused L1 hit's body is cancelled rather than left open. */
function release(found: Found | null): void {
  if (found?.level === "edge") found.hit.response.body?.cancel().catch(() => {});
}
