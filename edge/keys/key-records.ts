import type { Redis } from "@upstash/redis/cloudflare";
import type { ErrorCode } from "../../shared/contract/errors.ts";
import { keyRecord, type KeyRecord } from "../../shared/contract/keys.ts";
import { GatewayError } from "../../shared/error.ts";
import { readUpTo } from "../../shared/read-body.ts";
import { keyRecordCacheKey } from "../../shared/key-cache-key.ts";
import { errorText, log, type RequestIds } from "../log.ts";
import { count } from "../metrics/isolate.ts";
import type { BreakerContext } from "../origins/breakers.ts";
import { withFailover } from "../origins/failover.ts";
import { signatureHeaders } from "../origins/signature.ts";
import { maxKeyStalenessS, negativeKeyTtlS, type Settings } from "../settings.ts";
import { traceHeaders, type Trace } from "../trace.ts";
import { upstashClient } from "../upstash.ts";

/**
 * Key records by the key's SHA-256, looked up in four tiers:
 *
 * 0. this isolate's memory, for a second (a warm key costs no I/O at all);
 * 1. this location's Cache API, for `KEY_CACHE_TTL_S` (5 s; 0 turns off this tier and the one
 *    before), only where Upstash is not configured: regional cannot purge another location's
 *    Cache API, but it deletes the Upstash entry on revocation, which then takes effect within
 *    the memory tier's second;
 * 2. Upstash Redis, shared by every location;
 * 3. the regional tier's signed `GET /internal/keys/:sha256`.
 *
 * Every copy carries the moment regional answered plus 60 s, past which no tier serves it,
 * so a revoked key stops working within 60 s wherever it was cached; with Upstash, deleting
 * its entry on revocation (regional does) leaves only the memory tier's second.
 * Unknown and inactive keys are remembered for `negativeKeyTtlS`.
 */

/** A cached answer: the record, or null for a key regional does not know. */
interface CachedKey {
  v: 1;
  record: KeyRecord | null;
  /** Epoch ms after which no tier may serve this answer any more. */
  until: number;
}

/** What the tiers in front of regional are set to. */
type KeyCacheSettings = Pick<Settings, "keyCacheTtlS" | "upstash">;

export interface LookupContext extends RequestIds {
  settings: KeyCacheSettings & Pick<Settings, "signingSecret" | "origins" | "originTimeoutMs">;
  /** Lookups go through the origins' breakers and failover like any forwarded call. */
  breakers: BreakerContext;
  /** The request's trace: the lookup carries it to regional like the forwarded call. */
  trace: Trace;
  waitUntil(promise: Promise<unknown>): void;
}

const lookupTimeoutMs = 5_000;
const maxKeyRecordBytes = 16 * 1024;
const memoryTtlMs = 1_000;
const cacheBase = "https://key-records.breakwater.internal/";

const memory = new Map<string, CachedKey & { expiresAt: number }>();

/** The record in this isolate or location: undefined when not cached, null when cached as unknown. */
export async function cachedKeyRecord(settings: KeyCacheSettings, keySha256: string): Promise<KeyRecord | null | undefined> {
  const now = Date.now();
  if (settings.keyCacheTtlS === 0) return undefined;
  const remembered = memory.get(keySha256);
  if (remembered && remembered.expiresAt > now && remembered.until > now) return remembered.record;
  if (settings.upstash) return undefined;
  count("breakwater_edge_cache_api_calls_total", { operation: "match", use: "key_records" });
  const hit = await caches.default.match(cacheBase + keySha256);
  const cached = hit ? parseCached(await hit.text()) : null;
  if (!cached || cached.until <= now) return undefined;
  remember(settings, keySha256, cached);
  return cached.record;
}

/**
 * The record from Upstash or regional, stored back into the tiers in front of them. Concurrent
 * misses of one key in this isolate make one lookup (a burst of new streams with a cold key
 * would otherwise send each its own Upstash read, regional call and Upstash write): the first
 * leads, the others wait for what it found. The leader's lookup runs in its `waitUntil`, so
 * it ends even when its client leaves; it leaves plain data on the flight, which followers
 * look for on timers of their own. Nothing the leader does resolves a follower's promise:
 * workerd would run the follower on in the leader's request, and its next I/O would fail
 * ("Cannot perform I/O on behalf of a different request"). A follower whose leader says
 * nothing within `followerWaitMs` looks the key up itself.
 */
export async function fetchKeyRecord(context: LookupContext, keySha256: string): Promise<KeyRecord | null> {
  const flight = flightOf(keySha256);
  if (flight) {
    const outcome = await follow(flight);
    if (outcome === undefined) return await lookupKeyRecord(context, keySha256);
    if ("failure" in outcome) {
      const { code, message, retryAfterS } = outcome.failure;
      throw new GatewayError(code, { message, retryAfterS });
    }
    return outcome.record;
  }
  const own: Flight = { startedAt: Date.now() };
  lookups.set(keySha256, own);
  const lookup = lookupKeyRecord(context, keySha256);
  const finish = (outcome: LookupOutcome) => {
    own.outcome = outcome;
    if (lookups.get(keySha256) === own) lookups.delete(keySha256);
  };
  context.waitUntil(
    lookup.then(
      (record) => finish({ record }),
      (error: unknown) => finish({ failure: failureOf(error) }),
    ),
  );
  return await lookup;
}

/** Whether a lookup of this key is under way in this isolate: a request joining it costs no lookup of its own. */
export function keyLookupUnderWay(keySha256: string): boolean {
  return flightOf(keySha256) !== undefined;
}

/** What a leader hands its followers: plain data, never its own promise or error object. */
type LookupOutcome = { record: KeyRecord | null } | { failure: LookupFailure };
type LookupFailure = { code: ErrorCode; message: string; retryAfterS?: number };

/** The lookup itself is bounded by `lookupTimeoutMs`; a follower waits that long and a little more. */
const followerWaitMs = lookupTimeoutMs + 1_000;
/** How often a follower looks whether its leader is done. */
const followerPollMs = 5;
interface Flight {
  startedAt: number;
  /** Set by the leader when its lookup ended. */
  outcome?: LookupOutcome;
}
const lookups = new Map<string, Flight>();

/** The lookup under way for this key; one past the followers' wait never ended (its isolate state is stale) and is not joined. */
function flightOf(keySha256: string): Flight | undefined {
  const flight = lookups.get(keySha256);
  return flight && Date.now() - flight.startedAt < followerWaitMs ? flight : undefined;
}

/** What the flight's leader found, or undefined when it found nothing in time. */
async function follow(flight: Flight): Promise<LookupOutcome | undefined> {
  const deadline = flight.startedAt + followerWaitMs;
  while (flight.outcome === undefined) {
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, followerPollMs));
  }
  return flight.outcome;
}

function failureOf(error: unknown): LookupFailure {
  if (error instanceof GatewayError)
    return { code: error.code, message: error.message, ...(error.retryAfterS === undefined ? {} : { retryAfterS: error.retryAfterS }) };
  return { code: "unavailable", message: "API keys cannot be checked right now.", retryAfterS: 1 };
}

async function lookupKeyRecord(context: LookupContext, keySha256: string): Promise<KeyRecord | null> {
  const { settings } = context;
  const redis = settings.upstash ? upstashClient(settings.upstash) : null;
  if (redis) {
    const shared = await fromUpstash(context, redis, keySha256);
    if (shared && shared.until > Date.now()) {
      count("breakwater_edge_key_lookups_total", { source: "upstash" });
      remember(settings, keySha256, shared);
      return shared.record;
    }
  }

  const record = await fromRegional(context, keySha256);
  count("breakwater_edge_key_lookups_total", { source: "regional" });
  const lifetimeS = record?.status === "active" ? maxKeyStalenessS : negativeKeyTtlS;
  const cached: CachedKey = { v: 1, record, until: Date.now() + lifetimeS * 1000 };
  remember(settings, keySha256, cached);
  if (!redis) context.waitUntil(toCache(settings, keySha256, cached));
  if (redis) {
    context.waitUntil(
      redis.set(keyRecordCacheKey(keySha256), cached, { ex: lifetimeS }).catch((error: unknown) => {
        log("warn", "could not store a key record in Upstash", context, { error: errorText(error) });
      }),
    );
  }
  return record;
}

function remember(settings: KeyCacheSettings, keySha256: string, cached: CachedKey): void {
  if (settings.keyCacheTtlS === 0) return;
  if (memory.size >= 10_000) memory.clear();
  memory.set(keySha256, { ...cached, expiresAt: Date.now() + Math.min(memoryTtlMs, settings.keyCacheTtlS * 1000) });
}

async function fromUpstash(context: LookupContext, redis: Redis, keySha256: string): Promise<CachedKey | null> {
  try {
    const value = await redis.get<unknown>(keyRecordCacheKey(keySha256));
    return value === null ? null : parseCached(value);
  } catch (error) {
    // Upstash is a cache: without it the lookup goes on to regional.
    log("warn", "Upstash key lookup failed", context, { error: errorText(error) });
    return null;
  }
}

async function fromRegional(context: LookupContext, keySha256: string): Promise<KeyRecord | null> {
  const { settings } = context;
  const path = `/internal/keys/${keySha256}`;
  const headers = await signatureHeaders(settings.signingSecret, { method: "GET", pathAndQuery: path, body: null, vouched: {} });
  // Through the origins' breakers and failover like any forwarded call: a lost region must not lock keys out.
  // No client signal: a lookup that ends after its client left still fills the caches for the next.
  const timeoutMs = Math.min(lookupTimeoutMs, settings.originTimeoutMs);
  const { response } = await withFailover(context.breakers, settings.origins, {
    pathAndQuery: path,
    init: { headers: { ...headers, ...traceHeaders(context.trace), "x-request-id": context.requestId } },
    timeoutMs,
  });
  // A key record is a few hundred bytes; a peer sending more (or without end) is not read on.
  // A short answer is read to its end even when unused (a 404's body): a cancelled body costs
  // the connection, and every unknown key would then open a new one to the origin.
  const read = response.body ? await readUpTo(response.body, maxKeyRecordBytes) : { complete: true as const, bytes: new Uint8Array(0) };
  if (!read.complete) await read.body.cancel();
  if (response.status === 404) return null;
  const text = read.complete ? new TextDecoder().decode(read.bytes) : "";
  if (response.status !== 200 || !read.complete) {
    const detail = read.complete ? text.slice(0, 300) : `more than ${maxKeyRecordBytes} bytes`;
    throw new GatewayError("unavailable", {
      message: "API keys cannot be checked right now.",
      retryAfterS: 1,
      cause: new Error(`key lookup answered ${response.status}: ${detail}`),
    });
  }
  const parsed = keyRecord.safeParse(parseJson(text));
  if (!parsed.success) throw new GatewayError("unavailable", { message: "API keys cannot be checked right now.", cause: parsed.error });
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function toCache(settings: KeyCacheSettings, keySha256: string, value: CachedKey): Promise<void> {
  const ttlS = Math.min(settings.keyCacheTtlS, Math.floor((value.until - Date.now()) / 1000));
  if (ttlS <= 0) return;
  const response = new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json", "cache-control": `max-age=${ttlS}` },
  });
  count("breakwater_edge_cache_api_calls_total", { operation: "put", use: "key_records" });
  await caches.default.put(cacheBase + keySha256, response);
}

function parseCached(value: unknown): CachedKey | null {
  try {
    const data: unknown = typeof value === "string" ? JSON.parse(value) : value;
    if (typeof data !== "object" || data === null) return null;
    const { v, record, until } = data as { v?: unknown; record?: unknown; until?: unknown };
    if (v !== 1 || typeof until !== "number") return null;
    if (record === null) return { v: 1, record: null, until };
    const parsed = keyRecord.safeParse(record);
    return parsed.success ? { v: 1, record: parsed.data, until } : null;
  } catch {
    return null;
  }
}
