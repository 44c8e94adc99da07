/**
 * The edge's response cache under `wrangler dev`: `POST /v1/embeddings` answered from L1
 * (this location's Cache API, HIT-EDGE), from L2 (Upstash, HIT-REDIS: entries written
 * straight into Redis beforehand, one per request, so L1 never has them), and what a miss
 * (L1 and L2 looked up, the answer stored in the background) adds over the same request
 * forwarded without the cache (`Cache-Control: no-store`, BYPASS) through the same edge.
 * Misses and bypasses each get a new input; the four kinds (and a health check, the floor of
 * any request through wrangler dev) take turns in rounds so drift hits them alike.
 * Behind the edge: one regional process (embedded PGlite, `mock/embed`), and an
 * Upstash-compatible REST shim over a real redis-server (test/infra).
 *
 * `npm run bench` may call `edgeCacheScenario`; `tsx bench/edge-cache.ts` runs it alone.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "@upstash/redis";
import type { CacheEntry } from "../edge/cache/entry.ts";
import { cacheKey, responseCacheRedisKey } from "../shared/cache-key.ts";
import { startRedis } from "../test/infra/redis.ts";
import { startUpstashShim } from "../test/infra/upstash-shim.ts";
import { keyIdentity, startRegional, startWrangler } from "./edge-auth.ts";
import { microsecondsPerOp } from "./micro.ts";
import type { ManagedProcess } from "./processes.ts";
import { latencyRow, summarize, type LatencySummary } from "./stats.ts";
import { requestWhole } from "./whole-request.ts";

export interface EdgeCacheOptions {
  /** The repository root. */
  root: string;
  /** Scratch space for PGlite and wrangler state; the caller removes it. */
  workDir: string;
  /** Measured requests of each kind (default 1,000). */
  requests?: number;
  /** Unmeasured requests of each kind first (default 200). */
  warmupRequests?: number;
  /** How many rounds the measured requests are split into (default 10). */
  rounds?: number;
  /** False: the edge runs without Upstash (L1 only), and L2 hits are not measured. */
  withL2?: boolean;
}

export interface EdgeCacheResult {
  /** HIT-EDGE: the same request again. */
  l1Hit: LatencySummary;
  /** HIT-REDIS: an entry only Upstash has. */
  l2Hit: LatencySummary;
  /** MISS: a new request, looked up in both levels, then forwarded and stored. */
  miss: LatencySummary;
  /** BYPASS: a new request forwarded with the cache out of the way (plain forwarding). */
  bypass: LatencySummary;
  /** The cache's own time inside the edge (`Server-Timing`): a whole hit, or a miss's lookups. */
  inEdge: { l1Hit: LatencySummary; l2Hit: LatencySummary; missLookup: LatencySummary };
  /** `GET /health/live`: what any request through `wrangler dev` costs, the floor under every figure here. */
  floor: LatencySummary;
  /** miss p50 − bypass p50: the aim is ≤ 1 ms. */
  missAddedP50Ms: number;
  /** Computing one cache key (parse, normalise, canonical JSON, SHA-256) of a small chat body, in this Node process. */
  keyMicroseconds: number;
  failures: number;
  firstFailure?: string;
}

type Kind = "l1" | "l2" | "miss" | "bypass";
const expected: Record<Kind, string> = { l1: "HIT-EDGE", l2: "HIT-REDIS", miss: "MISS", bypass: "BYPASS" };

export async function edgeCacheScenario(options: EdgeCacheOptions): Promise<EdgeCacheResult> {
  const secret = randomBytes(32).toString("base64url");
  const apiKey = `bw_bench_${randomBytes(18).toString("base64url").slice(0, 24)}`;
  const redisServer = await startRedis();
  const started: ManagedProcess[] = [];
  const shim = await startUpstashShim({ redisUrl: redisServer.url, token: randomBytes(16).toString("hex") }).catch(
    async (error: unknown) => {
      await redisServer.stop();
      throw error;
    },
  );
  try {
    const regional = await startRegional(options, secret, apiKey);
    started.push(regional.process);
    const identity = await keyIdentity(regional.origin, secret, apiKey);
    const upstash: Record<string, string> =
      options.withL2 === false ? {} : { UPSTASH_REDIS_REST_URL: shim.url, UPSTASH_REDIS_REST_TOKEN: shim.token };
    const edge = await startWrangler(options, "edge (response cache)", join(options.root, "wrangler.toml"), {
      REGIONAL_ORIGIN: regional.origin,
      EDGE_SIGNING_SECRET: secret,
      ...upstash,
    });
    started.push(edge.process);
    const redis = new Redis({ url: shim.url, token: shim.token, enableTelemetry: false });
    return await measure(`${edge.origin}/v1/embeddings`, apiKey, identity.tenant_id, redis, options);
  } finally {
    for (const managed of started.reverse()) await managed.stop();
    await shim.stop();
    await redisServer.stop();
  }
}

async function measure(url: string, apiKey: string, tenantId: string, redis: Redis, options: EdgeCacheOptions): Promise<EdgeCacheResult> {
  const requests = options.requests ?? 1_000;
  const warmup = options.warmupRequests ?? 200;
  const rounds = options.rounds ?? 10;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: Record<Kind, number[]> = { l1: [], l2: [], miss: [], bypass: [] };
  const floor: number[] = [];
  const inEdge: Record<Kind, number[]> = { l1: [], l2: [], miss: [], bypass: [] };
  const run = `${Date.now()}-${randomBytes(4).toString("hex")}`;
  let serial = 0;
  let failures = 0;
  let firstFailure: string | undefined;

  const send = async (kind: Kind, input: string, keep: boolean): Promise<void> => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    if (kind === "bypass") headers["cache-control"] = "no-store";
    const timing = await timedPost(agent, url, headers, JSON.stringify({ model: "mock/embed", input }));
    // Warm-up answers may still find an entry being stored; only measured ones must be what they claim.
    if (timing.status !== 200 || (keep && timing.xCache !== expected[kind])) {
      failures += 1;
      firstFailure ??= `${kind}: status ${timing.status}, X-Cache ${timing.xCache}: ${timing.body.slice(0, 300)}`;
    } else if (keep) {
      samples[kind].push(timing.ms);
      if (timing.cacheMs !== undefined) inEdge[kind].push(timing.cacheMs);
    }
  };
  const fresh = (kind: string) => `${kind} ${run} ${serial++}`;

  try {
    // One real answer to store as every L2 entry, as the edge would have stored it.
    const template = await timedPost(
      agent,
      url,
      { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "cache-control": "no-store" },
      JSON.stringify({ model: "mock/embed", input: "template" }),
    );
    const l2Inputs = Array.from({ length: warmup + Math.ceil(requests / rounds) * rounds }, () => fresh("l2"));
    for (const input of l2Inputs) {
      const key = await cacheKey({ tenantId, method: "POST", path: "/v1/embeddings", query: "", body: { model: "mock/embed", input } });
      const entry: CacheEntry = {
        v: 1,
        storedAt: Date.now(),
        ttlS: 3_600,
        staleS: 600,
        headers: [["content-type", "application/json"]],
        body: template.body,
      };
      await redis.set(responseCacheRedisKey(key), entry, { ex: 3_600 });
    }

    let l2Next = 0;
    const inputFor: Record<Kind, () => string> = {
      l1: () => "the same again",
      l2: () => l2Inputs[l2Next++] as string,
      miss: () => fresh("miss"),
      bypass: () => fresh("bypass"),
    };
    const kinds: Kind[] = options.withL2 === false ? ["l1", "miss", "bypass"] : ["l1", "l2", "miss", "bypass"];
    for (const kind of kinds) for (let i = 0; i < warmup; i++) await send(kind, inputFor[kind](), false);
    // All four kinds in every round, in a rotating order, so drift in the machine's load hits them alike.
    const perRound = Math.ceil(requests / rounds);
    for (let round = 0; round < rounds; round++) {
      const order = [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)];
      for (const kind of order) for (let i = 0; i < perRound; i++) await send(kind, inputFor[kind](), true);
      for (let i = 0; i < perRound; i++) {
        const timing = await timedRequest(agent, "GET", new URL("/health/live", url).href, {}, null);
        if (timing.status === 200) floor.push(timing.ms);
      }
    }
  } finally {
    agent.destroy();
  }

  const chatBody = {
    model: "mock/echo",
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Say hello to the benchmark, please." },
    ],
    temperature: 1,
    max_tokens: 64,
  };
  const keyMicroseconds = await microsecondsPerOp(20_000, () =>
    cacheKey({ tenantId, method: "POST", path: "/v1/chat/completions", query: "", body: chatBody }),
  );
  const summary = {
    l1Hit: summarize(samples.l1),
    l2Hit: summarize(samples.l2),
    miss: summarize(samples.miss),
    bypass: summarize(samples.bypass),
    floor: summarize(floor),
    inEdge: { l1Hit: summarize(inEdge.l1), l2Hit: summarize(inEdge.l2), missLookup: summarize(inEdge.miss) },
  };
  return {
    ...summary,
    missAddedP50Ms: summary.miss.p50Ms - summary.bypass.p50Ms,
    keyMicroseconds,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

interface Timing {
  status: number;
  ms: number;
  xCache: string | undefined;
  /** What the edge reported in `Server-Timing: edge-cache;dur=`, in ms. */
  cacheMs: number | undefined;
  body: string;
}

function timedPost(agent: Agent, url: string, headers: Record<string, string>, body: string): Promise<Timing> {
  return timedRequest(agent, "POST", url, headers, body);
}

/** One request, timed from sending to the last byte of the answer. */
async function timedRequest(
  agent: Agent,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | null,
): Promise<Timing> {
  const answer = await requestWhole(agent, method, url, headers, body);
  const xCache = answer.headers["x-cache"];
  const serverTiming = /edge-cache;dur=([\d.]+)/.exec(String(answer.headers["server-timing"] ?? ""));
  return {
    status: answer.status,
    ms: answer.endedAt - answer.startedAt,
    xCache: typeof xCache === "string" ? xCache : undefined,
    cacheMs: serverTiming ? Number(serverTiming[1]) : undefined,
    body: answer.body,
  };
}

export function formatEdgeCache(result: EdgeCacheResult): string {
  const row = (name: string, summary: LatencySummary) => latencyRow(name, summary, 28);
  return [
    row("L1 hit (HIT-EDGE)", result.l1Hit),
    row("L2 hit (HIT-REDIS)", result.l2Hit),
    row("miss (MISS, stored)", result.miss),
    row("plain forwarding (BYPASS)", result.bypass),
    row("wrangler dev floor (health)", result.floor),
    row("in edge: L1 hit", result.inEdge.l1Hit),
    row("in edge: L2 hit", result.inEdge.l2Hit),
    row("in edge: miss lookups", result.inEdge.missLookup),
    `miss adds p50: ${result.missAddedP50Ms.toFixed(3)} ms (aim ≤ 1 ms); L1 hit p50 aim ≤ 1 ms; cache key: ${result.keyMicroseconds.toFixed(2)} µs`,
    ...(result.failures > 0 ? [`${result.failures} failures, first: ${result.firstFailure}`] : []),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const workDir = mkdtempSync(join(tmpdir(), "breakwater-bench-edge-cache-"));
  try {
    const requests = Number(process.env.BENCH_EDGE_CACHE_REQUESTS ?? 1_000);
    const withL2 = process.env.BENCH_EDGE_CACHE_L2 !== "0";
    process.stdout.write(`${formatEdgeCache(await edgeCacheScenario({ root, workDir, requests, withL2 }))}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
