import { parseArgs } from "node:util";

export const pathNames = ["direct", "regional", "edge"] as const;
export type PathName = (typeof pathNames)[number];

export interface BenchOptions {
  /** Measured seconds per chat scenario. */
  durationS: number;
  /** Unmeasured seconds before each chat scenario. */
  warmupS: number;
  /** Sequential streamed requests per path for time to first byte. */
  ttfbRequests: number;
  /** Concurrency of the throughput scenario (the other one is always 1). */
  loadConnections: number;
  /** Added latency of the mock upstream. */
  upstreamLatencyMs: number;
  paths: PathName[];
  /** A p50 regresses when worse by more than this percentage and `minLatencyDeltaMs`. */
  latencyThresholdPct: number;
  /** The same for p99, which a few slow requests move: looser by default. */
  p99ThresholdPct: number;
  minLatencyDeltaMs: number;
  /** Requests per second regress when lower by more than this percentage. */
  throughputThresholdPct: number;
  /** In-process figures regress when worse by more than this percentage. */
  microThresholdPct: number;
  updateBaseline: boolean;
  strict: boolean;
  /** Run `../shared/peer-bench/run.sh` with the built regional as its third target instead. */
  peer: boolean;
  help: boolean;
}

export const usage = `Usage: npm run bench -- [options]

  --duration <s>              measured seconds per chat scenario (BENCH_DURATION_S, default 5)
  --warmup <s>                warmup seconds per chat scenario (BENCH_WARMUP_S, default 2)
  --ttfb-requests <n>         streamed requests per path for TTFB (BENCH_TTFB_REQUESTS, default 300)
  --connections <n>           connections of the throughput run (BENCH_CONNECTIONS, default 32)
  --upstream-latency <ms>     mock upstream added latency (BENCH_UPSTREAM_LATENCY_MS, default 2)
  --paths <list>              any of direct,regional,edge (BENCH_PATHS, default all three);
                              direct is always measured, edge brings regional along
  --quick                     1 s runs, 0.3 s warmup, 50 TTFB requests (a smoke test, not a measurement)
  --threshold <pct>           p50 regression threshold in % (BENCH_THRESHOLD_PCT, default 25)
  --p99-threshold <pct>       p99 regression threshold in % (BENCH_P99_THRESHOLD_PCT, default 50)
  --min-latency-delta <ms>    and by at least this much (BENCH_MIN_LATENCY_DELTA_MS, default 0.2)
  --throughput-threshold <pct> req/s regression threshold in % (BENCH_THROUGHPUT_THRESHOLD_PCT, default 25)
  --micro-threshold <pct>     in-process figure regression threshold in % (BENCH_MICRO_THRESHOLD_PCT, default 50)
  --update-baseline           write this run to bench/baseline.json
  --strict                    exit 1 when a regression is flagged
  --peer                      instead: the side-by-side run of ../shared/peer-bench/run.sh (direct, Portkey,
                              direct again) with the built regional as the third target; its knobs
                              (ROUNDS, DURATION, ...) pass through; the table goes to bench/peer-table.txt

  BENCH_DATABASE_URL          run regional against this Postgres instead of embedded PGlite
`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      "ttfb-requests": { type: "string" },
      connections: { type: "string" },
      "upstream-latency": { type: "string" },
      paths: { type: "string" },
      quick: { type: "boolean", default: false },
      threshold: { type: "string" },
      "p99-threshold": { type: "string" },
      "min-latency-delta": { type: "string" },
      "throughput-threshold": { type: "string" },
      "micro-threshold": { type: "string" },
      "update-baseline": { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      peer: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const quick = values.quick === true;
  return {
    durationS: number("duration", values.duration ?? env.BENCH_DURATION_S, quick ? 1 : 5, 0.1),
    warmupS: number("warmup", values.warmup ?? env.BENCH_WARMUP_S, quick ? 0.3 : 2, 0),
    ttfbRequests: Math.round(number("ttfb-requests", values["ttfb-requests"] ?? env.BENCH_TTFB_REQUESTS, quick ? 50 : 300, 1)),
    loadConnections: Math.round(number("connections", values.connections ?? env.BENCH_CONNECTIONS, 32, 1)),
    upstreamLatencyMs: number("upstream-latency", values["upstream-latency"] ?? env.BENCH_UPSTREAM_LATENCY_MS, 2, 0),
    paths: parsePaths(values.paths ?? env.BENCH_PATHS),
    latencyThresholdPct: number("threshold", values.threshold ?? env.BENCH_THRESHOLD_PCT, 25, 0),
    p99ThresholdPct: number("p99-threshold", values["p99-threshold"] ?? env.BENCH_P99_THRESHOLD_PCT, 50, 0),
    minLatencyDeltaMs: number("min-latency-delta", values["min-latency-delta"] ?? env.BENCH_MIN_LATENCY_DELTA_MS, 0.2, 0),
    throughputThresholdPct: number("throughput-threshold", values["throughput-threshold"] ?? env.BENCH_THROUGHPUT_THRESHOLD_PCT, 25, 0),
    microThresholdPct: number("micro-threshold", values["micro-threshold"] ?? env.BENCH_MICRO_THRESHOLD_PCT, 50, 0),
    updateBaseline: values["update-baseline"] === true,
    strict: values.strict === true,
    peer: values.peer === true,
    help: values.help === true,
  };
}

function number(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

function parsePaths(raw: string | undefined): PathName[] {
  if (raw === undefined || raw === "") return [...pathNames];
  const wanted = raw.split(",").map((part) => part.trim());
  for (const name of wanted) {
    if (!isPathName(name)) throw new Error(`--paths: unknown path "${name}" (use ${pathNames.join(",")})`);
  }
  // Direct is the reference every added latency is measured against; the edge forwards to regional.
  return pathNames.filter((name) => name === "direct" || wanted.includes(name) || (name === "regional" && wanted.includes("edge")));
}

function isPathName(value: string): value is PathName {
  return (pathNames as readonly string[]).includes(value);
}
