/**
 * What one request costs the edge on each path, under `wrangler dev` with Upstash: the
 * subrequests it makes (calls to the regional origin, to Upstash, and the TCP connections
 * they took, counted by proxies in front of both), its Durable Object calls and Cache API
 * calls (the edge's own `/metrics`), for a cache hit, a cache miss, a chat answer the cache
 * is not asked for, a stream, an error from the origin and an auth failure. Then a burst of
 * concurrent streams with a key no tier has cached, some clients abandoning stalled
 * streams: how many complete, the sockets each workerd process holds at the peak, how long
 * until they are given back, and whether the next request is answered.
 *
 * `npm run bench` calls `edgeCostScenario`; `tsx bench/edge-cost.ts` runs it alone
 * (`BENCH_EDGE_COST_REQUESTS`, `BENCH_EDGE_COST_STREAMS`).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "@upstash/redis";
import { keyRecordCacheKey } from "../shared/key-cache-key.ts";
import { sha256Hex } from "../shared/signing.ts";
import { startRedis } from "../test/infra/redis.ts";
import { startUpstashShim } from "../test/infra/upstash-shim.ts";
import { burstStream } from "../test/support/burst-stream.ts";
import { startCountingProxy, type CountingProxy, type ProxyCounts } from "./counting-proxy.ts";
import { startRegional, startWrangler } from "./edge-auth.ts";
import type { MicroResult } from "./micro.ts";
import { socketCount, workerdProcesses, type WorkerdProcesses } from "./process-sockets.ts";
import type { ManagedProcess } from "./processes.ts";
import { requestWhole } from "./whole-request.ts";

export interface EdgeCostOptions {
  root: string;
  /** Scratch space for PGlite and wrangler state; the caller removes it. */
  workDir: string;
  /** Requests counted on each path (default 20). */
  requests?: number;
  /** Concurrent streams in the burst (default 1,000). */
  streams?: number;
}

/** What one request on a path made, on average over the path's requests. */
export interface PathCost {
  path: string;
  /** The statuses the path's requests got, `200×20`. */
  statuses: string;
  originCalls: number;
  originConnections: number;
  upstashCalls: number;
  upstashConnections: number;
  durableObjectCalls: Record<DurableObjectName, number>;
  cacheApiCalls: number;
}

type DurableObjectName = "rate_limiter" | "origin_breaker" | "metrics_aggregator";
const durableObjects: DurableObjectName[] = ["rate_limiter", "origin_breaker", "metrics_aggregator"];

export interface StreamBurst {
  streams: number;
  completed: number;
  abandoned: number;
  failed: number;
  firstFailure?: string;
  /** Peak sockets of the edge Worker's workerd, and of wrangler dev's proxy in front of it. */
  peakSockets: { worker: number; devProxy: number | null };
  /** From the burst's end until the Worker's sockets were back near where they started; null: not within 30 s. */
  releasedAfterMs: number | null;
  /** What the burst cost behind the edge: key lookups at regional, Upstash calls, connections to the origin. */
  keyLookups: number;
  upstashCalls: number;
  originConnections: number;
  /** The status of a plain request sent once the burst was over (0: no answer within 10 s). */
  afterwards: number;
}

export interface EdgeCostResult {
  paths: PathCost[];
  burst: StreamBurst;
}

const metricsKey = "bench-metrics-key-".padEnd(40, "x");

export async function edgeCostScenario(options: EdgeCostOptions): Promise<EdgeCostResult> {
  const secret = randomBytes(32).toString("base64url");
  const apiKey = `bw_bench_${randomBytes(18).toString("base64url").slice(0, 24)}`;
  const redisServer = await startRedis();
  const started: ManagedProcess[] = [];
  const proxies: CountingProxy[] = [];
  const shim = await startUpstashShim({ redisUrl: redisServer.url, token: randomBytes(16).toString("hex") });
  try {
    const regional = await startRegional(options, secret, apiKey);
    started.push(regional.process);
    const origin = await startCountingProxy(regional.origin, (path) => (path.startsWith("/internal/keys/") ? "keys" : "other"));
    const upstash = await startCountingProxy(shim.url, () => "call");
    proxies.push(origin, upstash);
    const edge = await startWrangler(options, "edge (cost)", join(options.root, "wrangler.toml"), {
      REGIONAL_ORIGIN: origin.origin,
      EDGE_SIGNING_SECRET: secret,
      UPSTASH_REDIS_REST_URL: upstash.origin,
      UPSTASH_REDIS_REST_TOKEN: shim.token,
      METRICS_API_KEY: metricsKey,
    });
    started.push(edge.process);
    const client = { edge: edge.origin, apiKey, origin, upstash };
    const paths: PathCost[] = [];
    for (const path of costPaths) paths.push(await measurePath(client, path, options.requests ?? 20));

    // The burst's key is cold in every tier in front of regional: out of Upstash, and the isolate's second gone.
    await new Redis({ url: shim.url, token: shim.token, enableTelemetry: false }).del(keyRecordCacheKey(await sha256Hex(apiKey)));
    await delay(1_200);
    const pid = edge.process.child.pid;
    if (pid === undefined) throw new Error("wrangler has no process id");
    const workerds = workerdProcesses(pid, Number(new URL(edge.origin).port));
    const burst = await streamBurst(client, workerds, options.streams ?? 1_000);
    return { paths, burst };
  } finally {
    for (const managed of started.reverse()) await managed.stop();
    for (const proxy of proxies) await proxy.stop();
    await shim.stop();
    await redisServer.stop();
  }
}

interface Client {
  edge: string;
  apiKey: string;
  origin: CountingProxy;
  upstash: CountingProxy;
}

interface CostPath {
  name: string;
  method: "GET" | "POST";
  path: string;
  /** The body and headers of the request numbered `i`. */
  make(i: number, apiKey: string): { body: Record<string, unknown> | null; headers: Record<string, string> };
  /** Requests first, not counted: the key record and the breakers' views warm, the cache filled. */
  warmup: number;
}

const run = randomBytes(4).toString("hex");
const chat = (extra: Record<string, unknown> = {}) => ({
  model: "mock/echo",
  messages: [{ role: "user", content: "What does one request cost?" }],
  max_tokens: 16,
  ...extra,
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

const costPaths: CostPath[] = [
  {
    name: "cache hit",
    method: "POST",
    path: "/v1/embeddings",
    make: (_, key) => ({ body: { model: "mock/embed", input: `edge cost ${run}: the same again` }, headers: bearer(key) }),
    warmup: 3,
  },
  {
    name: "cache miss",
    method: "POST",
    path: "/v1/embeddings",
    make: (i, key) => ({ body: { model: "mock/embed", input: `edge cost ${run}: miss ${i}` }, headers: bearer(key) }),
    warmup: 2,
  },
  {
    name: "chat (not cached)",
    method: "POST",
    path: "/v1/chat/completions",
    make: (_, key) => ({ body: chat(), headers: bearer(key) }),
    warmup: 2,
  },
  {
    name: "stream",
    method: "POST",
    path: "/v1/chat/completions",
    make: (_, key) => ({ body: chat({ stream: true }), headers: bearer(key) }),
    warmup: 2,
  },
  {
    name: "error from origin",
    method: "POST",
    path: "/v1/embeddings",
    // Embeddings, so the regional breaker this opens is not the one the stream burst goes through.
    make: (i, key) => ({
      body: { model: "mock/embed", input: `edge cost ${run}: error ${i}` },
      headers: { ...bearer(key), "x-mock-fault": "status=503" },
    }),
    warmup: 2,
  },
  {
    name: "auth failure",
    method: "POST",
    path: "/v1/chat/completions",
    // A key nobody issued, new each time: every tier is asked. Fewer than the IP's 20 failures a minute.
    make: () => ({ body: chat(), headers: bearer(`bw_unknown_${randomBytes(12).toString("hex")}`) }),
    warmup: 0,
  },
];

async function measurePath(client: Client, path: CostPath, requested: number): Promise<PathCost> {
  const requests = path.name === "auth failure" ? Math.min(requested, 15) : requested;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const statuses = new Map<number, number>();
  const send = async (i: number) => {
    const { body, headers } = path.make(i, client.apiKey);
    const answer = await requestWhole(
      agent,
      path.method,
      `${client.edge}${path.path}`,
      headers,
      body === null ? null : JSON.stringify(body),
    );
    return answer.status;
  };
  try {
    for (let i = 0; i < path.warmup; i++) await send(-1 - i);
    await settle();
    const before = await snapshot(client);
    for (let i = 0; i < requests; i++) {
      const status = await send(i);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    await settle();
    const after = await snapshot(client);
    const per = (value: number) => value / requests;
    return {
      path: path.name,
      statuses: [...statuses].map(([status, times]) => `${status}×${times}`).join(" "),
      originCalls: per(sum(after.origin.requests) - sum(before.origin.requests)),
      originConnections: per(after.origin.connections - before.origin.connections),
      upstashCalls: per(sum(after.upstash.requests) - sum(before.upstash.requests)),
      upstashConnections: per(after.upstash.connections - before.upstash.connections),
      durableObjectCalls: Object.fromEntries(
        durableObjects.map((object) => [object, per((after.durableObjects[object] ?? 0) - (before.durableObjects[object] ?? 0))]),
      ) as Record<DurableObjectName, number>,
      cacheApiCalls: per(after.cacheApi - before.cacheApi),
    };
  } finally {
    agent.destroy();
  }
}

/** Background work (token settling 100 ms on, cache writes) ends within this; it belongs to the path too. */
const settle = () => delay(400);
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, value) => total + value, 0);

interface Snapshot {
  origin: ProxyCounts;
  upstash: ProxyCounts;
  durableObjects: Record<string, number>;
  cacheApi: number;
}

/** The proxies' counts and the edge's own (its `/metrics` adds what this isolate has not flushed yet). */
async function snapshot(client: Client): Promise<Snapshot> {
  const response = await fetch(`${client.edge}/metrics`, { headers: { authorization: `Bearer ${metricsKey}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`edge /metrics answered ${response.status}: ${text.slice(0, 200)}`);
  const durableObjectCalls: Record<string, number> = {};
  let cacheApi = 0;
  for (const line of text.split("\n")) {
    const object = /^breakwater_edge_durable_object_calls_total\{object="([a-z_]+)"\} ([\d.e+]+)$/.exec(line);
    if (object?.[1]) durableObjectCalls[object[1]] = Number(object[2]);
    const cache = /^breakwater_edge_cache_api_calls_total\{[^}]*\} ([\d.e+]+)$/.exec(line);
    if (cache) cacheApi += Number(cache[1]);
  }
  return { origin: client.origin.counts(), upstash: client.upstash.counts(), durableObjects: durableObjectCalls, cacheApi };
}

async function streamBurst(client: Client, workerds: WorkerdProcesses, streams: number): Promise<StreamBurst> {
  const baseline = socketCount(workerds.worker) ?? 0;
  const peak = { worker: baseline, devProxy: workerds.devProxy === undefined ? null : (socketCount(workerds.devProxy) ?? 0) };
  const sample = () => {
    peak.worker = Math.max(peak.worker, socketCount(workerds.worker) ?? 0);
    if (workerds.devProxy !== undefined) peak.devProxy = Math.max(peak.devProxy ?? 0, socketCount(workerds.devProxy) ?? 0);
  };
  const sampler = setInterval(sample, 100);
  const before = { origin: client.origin.counts(), upstash: client.upstash.counts() };
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  let outcomes: string[];
  try {
    outcomes = await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        burstStream({
          url: `${client.edge}/v1/chat/completions`,
          apiKey: client.apiKey,
          agent,
          abandon: i % 50 === 49,
          // Held open long enough that the whole burst is in flight at once.
          firstTokenDelayMs: 1500,
          timeoutMs: 60_000,
        }),
      ),
    );
  } finally {
    clearInterval(sampler);
    agent.destroy();
  }
  sample();
  const ended = performance.now();
  let releasedAfterMs: number | null = null;
  while (performance.now() - ended < 30_000) {
    const now = socketCount(workerds.worker);
    if (now !== null && now <= baseline + 10) {
      releasedAfterMs = performance.now() - ended;
      break;
    }
    await delay(100);
  }
  const after = { origin: client.origin.counts(), upstash: client.upstash.counts() };
  const afterwards = await fetch(`${client.edge}/v1/models`, { headers: bearer(client.apiKey), signal: AbortSignal.timeout(10_000) }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    () => 0,
  );
  const failures = outcomes.filter((outcome) => outcome !== "completed" && outcome !== "abandoned");
  return {
    streams,
    completed: outcomes.filter((outcome) => outcome === "completed").length,
    abandoned: outcomes.filter((outcome) => outcome === "abandoned").length,
    failed: failures.length,
    ...(failures[0] === undefined ? {} : { firstFailure: failures[0] }),
    peakSockets: peak,
    releasedAfterMs,
    keyLookups: (after.origin.requests.keys ?? 0) - (before.origin.requests.keys ?? 0),
    upstashCalls: sum(after.upstash.requests) - sum(before.upstash.requests),
    originConnections: after.origin.connections - before.origin.connections,
    afterwards,
  };
}

export function formatEdgeCost(result: EdgeCostResult): string {
  const header = [
    "path",
    "statuses",
    "origin calls",
    "origin conns",
    "Upstash calls",
    "Upstash conns",
    "DO: limiter",
    "DO: breaker",
    "DO: metrics",
    "Cache API",
  ];
  const figure = (value: number) => value.toFixed(2);
  const rows = result.paths.map((path) => [
    path.path,
    path.statuses,
    figure(path.originCalls),
    figure(path.originConnections),
    figure(path.upstashCalls),
    figure(path.upstashConnections),
    figure(path.durableObjectCalls.rate_limiter),
    figure(path.durableObjectCalls.origin_breaker),
    figure(path.durableObjectCalls.metrics_aggregator),
    figure(path.cacheApiCalls),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const { burst } = result;
  const proxy = burst.peakSockets.devProxy === null ? "" : `, wrangler dev's proxy ${burst.peakSockets.devProxy}`;
  return [
    "per request (averages):",
    line(header),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...rows.map(line),
    `${burst.streams} concurrent streams (cold key, 1 in 50 abandoned mid-stream): ${burst.completed} completed, ${burst.abandoned} abandoned, ${burst.failed} failed${burst.firstFailure ? ` (first: ${burst.firstFailure})` : ""}`,
    `  peak sockets: edge Worker ${burst.peakSockets.worker} (${(burst.peakSockets.worker / burst.streams).toFixed(2)} per stream)${proxy}; given back ${burst.releasedAfterMs === null ? "not within 30 s" : `${(burst.releasedAfterMs / 1000).toFixed(1)} s after the burst`}`,
    `  behind the edge: ${burst.keyLookups} key lookups at regional, ${burst.upstashCalls} Upstash calls, ${burst.originConnections} origin connections; next request: ${burst.afterwards || "no answer"}`,
  ].join("\n");
}

export function edgeCostFigures(result: EdgeCostResult): MicroResult[] {
  const stream = result.paths.find((path) => path.path === "stream");
  const { burst } = result;
  return [
    ...(stream
      ? [
          {
            id: "edge stream: Durable Object calls per request",
            value: durableObjects.reduce((total, object) => total + stream.durableObjectCalls[object], 0),
            unit: "calls/req" as const,
          },
          { id: "edge stream: Upstash calls per request", value: stream.upstashCalls, unit: "calls/req" as const },
        ]
      : []),
    { id: `edge ${burst.streams} concurrent streams: failed`, value: burst.failed, unit: "streams", aim: { op: "≤", value: 0 } },
    {
      id: `edge ${burst.streams} concurrent streams: Worker sockets per stream`,
      value: burst.peakSockets.worker / burst.streams,
      unit: "sockets/stream",
    },
    {
      id: `edge ${burst.streams} concurrent streams: key lookups at regional`,
      value: burst.keyLookups,
      unit: "calls",
      aim: { op: "≤", value: 1 },
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const workDir = mkdtempSync(join(tmpdir(), "breakwater-bench-edge-cost-"));
  try {
    const requests = Number(process.env.BENCH_EDGE_COST_REQUESTS ?? 20);
    const streams = Number(process.env.BENCH_EDGE_COST_STREAMS ?? 1_000);
    process.stdout.write(`${formatEdgeCost(await edgeCostScenario({ root, workDir, requests, streams }))}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
