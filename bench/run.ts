import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compare, readBaseline, writeBaseline } from "./baseline.ts";
import { loadChat } from "./load.ts";
import { compareMicro, formatMicro } from "./micro.ts";
import { policyFigures } from "./policies.ts";
import { balancingFigures } from "./balancing.ts";
import { formatOverload, overloadFigures } from "./overload.ts";
import { observabilityFigures } from "./observability.ts";
import { streamChunkFigures } from "./stream-chunks.ts";
import { auditFigures } from "./audit.ts";
import { edgeAuthScenario } from "./edge-auth.ts";
import { edgeCacheScenario, formatEdgeCache } from "./edge-cache.ts";
import { edgeCostFigures, edgeCostScenario, formatEdgeCost } from "./edge-cost.ts";
import { failoverFigure, failoverScenario, formatFailover } from "./failover.ts";
import { replicaFigures } from "./replicas.ts";
import { builtRegionalFigures } from "./built-regional.ts";
import { streamMemoryFigures } from "./stream-memory.ts";
import { peerBench } from "./peer.ts";
import { formatManyStreams, manyStreamsFigures, manyStreamsScenario } from "./many-streams.ts";
import { checkTarget, sequentialChat, streamTtfb, type SequentialResult } from "./measure.ts";
import { parseOptions, usage, type BenchOptions, type PathName } from "./options.ts";
import { killAllNow, stopAll } from "./processes.ts";
import { formatReport, writeResult } from "./report.ts";
import { machineInfo, scenarioId, withAddedLatency, type BenchResult, type ScenarioKind, type ScenarioResult } from "./result.ts";
import { benchApiKey, directTarget, gatewayTarget, startEdge, startMockUpstream, startRegional } from "./services.ts";
import type { Target } from "./target.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const baselineFile = join(root, "bench", "baseline.json");
const latestFile = join(root, "bench", "results", "latest.json");

const progress = (message: string): void => {
  process.stderr.write(`· ${message}\n`);
};

/** Temporary data of this run (PGlite, wrangler state); removed however the run ends. */
let workDir: string | undefined;

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (options.peer) return await peerBench({ root, progress });
  const paths = availablePaths(options.paths);
  const dir = mkdtempSync(join(tmpdir(), "breakwater-bench-"));
  workDir = dir;
  try {
    const targets = await startTargets(paths, options, dir);
    for (const target of targets) await checkTarget(target);
    const scenarios = withAddedLatency(await measure(targets, options));
    await stopAll();
    progress("in-process figures: resilience policies");
    const micro = await policyFigures();
    progress("in-process figures: load-balancing picks per strategy");
    micro.push(...balancingFigures());
    progress("admission queue under 2× overload (real time, one tenant flooding)");
    const overload = await overloadFigures();
    progress(formatOverload(overload));
    micro.push(
      {
        id: "admission under 2× overload: goodput",
        value: overload.goodputPerS,
        unit: "ops/s",
        aim: { op: "≥", value: 0.9 * overload.capacityPerS },
      },
      { id: "admission under 2× overload: accepted p99", value: overload.acceptedP99Ms, unit: "ms" },
    );
    progress("audit log: append cost and sustained writes into Postgres");
    micro.push(...(await auditFigures()));
    progress("observability: metrics + tracing (OTLP to a local sink) + access log, on against off");
    micro.push(...(await observabilityFigures()));
    progress("regional streams in process: the stream path's fixed cost and its cost per chunk");
    micro.push(...(await streamChunkFigures()));
    if (paths.includes("edge")) {
      progress("edge: auth with a warm key cache + limiters over plain forwarding (wrangler dev)");
      const edgeAuth = await edgeAuthScenario({ root, workDir: join(dir, "edge-auth"), requests: options.durationS < 2 ? 300 : 2_000 });
      micro.push(
        { id: "edge auth + limiter (added p50)", value: edgeAuth.addedP50Ms, unit: "ms/op", aim: { op: "≤", value: 2 } },
        {
          id: "edge budget check on the limiter path (added p50)",
          value: edgeAuth.budgetAddedP50Ms,
          unit: "ms/op",
          aim: { op: "≤", value: 1 },
        },
      );
      progress("edge: response cache hits and misses (wrangler dev, Upstash shim)");
      const cache = await edgeCacheScenario({ root, workDir: join(dir, "edge-cache"), requests: options.durationS < 2 ? 200 : 1_000 });
      progress(`edge cache:\n${formatEdgeCache(cache)}`);
      micro.push(
        { id: "edge cache L1 hit, in edge (p50)", value: cache.inEdge.l1Hit.p50Ms, unit: "ms/op", aim: { op: "≤", value: 1 } },
        { id: "edge cache L1 hit, end to end (p50)", value: cache.l1Hit.p50Ms, unit: "ms/op" },
        { id: "edge cache L2 hit, end to end (p50)", value: cache.l2Hit.p50Ms, unit: "ms/op" },
        { id: "edge cache miss over plain forwarding (p50)", value: cache.missAddedP50Ms, unit: "ms/op", aim: { op: "≤", value: 1 } },
      );
      progress("edge: cost per request on each path, and a burst of concurrent streams (wrangler dev, Upstash shim)");
      const cost = await edgeCostScenario({
        root,
        workDir: join(dir, "edge-cost"),
        requests: options.durationS < 2 ? 5 : 20,
        streams: options.durationS < 2 ? 200 : 1_000,
      });
      progress(`edge cost:\n${formatEdgeCost(cost)}`);
      micro.push(...edgeCostFigures(cost));
      progress("edge: origin failover, one of two regional origins killed under load");
      const failover = await failoverScenario({ root, workDir: join(dir, "failover") });
      progress(formatFailover(failover));
      micro.push(failoverFigure(failover));
    }
    if (paths.includes("regional")) {
      progress("regional: 512 concurrent streams on one provider of a primary → secondary route");
      const manyStreams = await manyStreamsScenario({ root, workDir: join(dir, "many-streams") });
      progress(formatManyStreams(manyStreams));
      micro.push(...manyStreamsFigures(manyStreams));
    }
    progress("replica routing against a real primary + streaming replica");
    micro.push(...(await replicaFigures()));
    if (paths.includes("regional")) {
      progress("built regional (npm run build): start to ready, idle memory with a real Postgres, cached secret lookups");
      micro.push(...(await builtRegionalFigures({ root })));
      progress("built regional: resident memory idle and with 1,000 open streams");
      micro.push(...(await streamMemoryFigures({ root, workDir: join(dir, "stream-memory") })));
    }
    return report(
      {
        schema: 1,
        timestamp: new Date().toISOString(),
        machine: machineInfo(),
        config: {
          upstreamLatencyMs: options.upstreamLatencyMs,
          durationS: options.durationS,
          warmupS: options.warmupS,
          ttfbRequests: options.ttfbRequests,
          loadConnections: options.loadConnections,
          paths,
        },
        scenarios,
        micro,
      },
      options,
    );
  } finally {
    await cleanUp();
  }
}

async function cleanUp(): Promise<void> {
  await stopAll();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

/** Paths whose code exists; a tier still being written is skipped with a note, not an error. */
function availablePaths(wanted: PathName[]): PathName[] {
  const hasRegional = existsSync(join(root, "regional", "main.ts"));
  const hasEdge = existsSync(join(root, "edge", "index.ts"));
  return wanted.filter((path) => {
    if (path === "regional" && !hasRegional) progress("skipping regional: regional/main.ts does not exist yet");
    else if (path === "edge" && !(hasRegional && hasEdge)) progress("skipping edge: needs edge/index.ts and regional/main.ts");
    else return true;
    return false;
  });
}

async function startTargets(paths: PathName[], options: BenchOptions, scratchDir: string): Promise<Target[]> {
  progress(`starting mock upstream (${options.upstreamLatencyMs} ms added latency)`);
  const upstream = await startMockUpstream(root, options.upstreamLatencyMs);
  const targets = [directTarget(upstream)];
  if (!paths.includes("regional")) return targets;

  const apiKey = benchApiKey();
  progress("starting regional (embedded PGlite)");
  const regional = await startRegional({ root, upstreamOrigin: upstream.origin, dataDir: join(scratchDir, "data"), apiKey });
  for (const note of regional.notes) progress(`note: ${note}`);
  targets.push(gatewayTarget("regional", regional, apiKey));
  if (!paths.includes("edge")) return targets;

  // Behind the edge the regional tier takes only signed calls, as in production; the
  // regional path above is measured without the edge, so it runs a second, open instance.
  const signingSecret = randomBytes(32).toString("hex");
  progress("starting regional behind the edge (signed calls only)");
  const signed = await startRegional({
    root,
    upstreamOrigin: upstream.origin,
    dataDir: join(scratchDir, "data-signed"),
    apiKey,
    signingSecret,
  });
  progress("starting edge (wrangler dev)");
  const edge = await startEdge({ root, regionalOrigin: signed.origin, persistDir: join(scratchDir, "wrangler"), signingSecret });
  targets.push(gatewayTarget("edge", edge, apiKey));
  return targets;
}

async function measure(targets: Target[], options: BenchOptions): Promise<ScenarioResult[]> {
  const scenarios: ScenarioResult[] = [];
  for (const target of targets) {
    progress(`chat, 1 connection, ${target.path}`);
    scenarios.push(fromSequential("chat", target.path, await sequentialChat(target, options.durationS, options.warmupS)));
  }

  const connections = options.loadConnections;
  for (const target of targets) {
    progress(`chat, ${connections} connections, ${target.path}`);
    const run = await loadChat(target, connections, options.durationS, options.warmupS);
    const failures = run.non2xx + run.errors;
    scenarios.push({
      id: scenarioId("chat", connections, target.path),
      kind: "chat",
      path: target.path,
      connections,
      method: "autocannon",
      requests: run.requests,
      failures,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      meanMs: run.meanMs,
      reqPerSec: run.reqPerSec,
      addedP50Ms: null,
      ...(failures > 0 ? { firstFailure: `${run.non2xx} non-2xx, ${run.errors} connection errors` } : {}),
    });
  }

  for (const target of targets) {
    progress(`stream time to first byte, ${target.path}`);
    scenarios.push(fromSequential("stream-ttfb", target.path, await streamTtfb(target, options.ttfbRequests)));
  }
  return scenarios;
}

function fromSequential(kind: ScenarioKind, path: PathName, run: SequentialResult): ScenarioResult {
  return {
    id: scenarioId(kind, 1, path),
    kind,
    path,
    connections: 1,
    method: "sequential",
    requests: run.requests,
    failures: run.failures,
    p50Ms: run.latency.p50Ms,
    p99Ms: run.latency.p99Ms,
    meanMs: run.latency.meanMs,
    reqPerSec: run.reqPerSec,
    addedP50Ms: null,
    ...(run.firstFailure ? { firstFailure: run.firstFailure } : {}),
  };
}

function report(result: BenchResult, options: BenchOptions): number {
  const baseline = readBaseline(baselineFile);
  const regressions = baseline
    ? compare(result, baseline, {
        latencyPct: options.latencyThresholdPct,
        p99Pct: options.p99ThresholdPct,
        minLatencyDeltaMs: options.minLatencyDeltaMs,
        throughputPct: options.throughputThresholdPct,
      })
    : [];
  process.stdout.write(formatReport(result, baseline, regressions, options.updateBaseline));
  const micro = result.micro ?? [];
  const microRegressions = compareMicro(micro, baseline?.micro ?? [], options.microThresholdPct);
  process.stdout.write(`\n${formatMicro(micro)}\n${microRegressions.map((line) => `${line}\n`).join("")}`);

  writeResult(latestFile, result, regressions);
  progress("wrote bench/results/latest.json");
  if (options.updateBaseline) {
    writeBaseline(baselineFile, result);
    progress("wrote bench/baseline.json");
  }
  return options.strict && regressions.length + microRegressions.length > 0 ? 1 : 0;
}

process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping child processes`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)} (options: --help)\n`);
    await cleanUp();
    process.exitCode = 1;
  },
);
