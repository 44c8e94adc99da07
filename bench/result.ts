import { cpus, totalmem } from "node:os";
import type { MicroResult } from "./micro.ts";
import type { PathName } from "./options.ts";

/** What one bench run produces; `bench/results/latest.json` and `bench/baseline.json` hold one each. */
export interface BenchResult {
  schema: 1;
  timestamp: string;
  machine: MachineInfo;
  config: {
    upstreamLatencyMs: number;
    durationS: number;
    warmupS: number;
    ttfbRequests: number;
    loadConnections: number;
    paths: PathName[];
  };
  scenarios: ScenarioResult[];
  /** In-process figures of single parts (policies, audit, ...). */
  micro?: MicroResult[];
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  platform: string;
  arch: string;
  node: string;
}

export type ScenarioKind = "chat" | "stream-ttfb";

export interface ScenarioResult {
  /** Stable name used to match a baseline, e.g. `chat/c1/regional`. */
  id: string;
  kind: ScenarioKind;
  path: PathName;
  connections: number;
  /** `sequential`: own keep-alive loop with sub-ms timing; `autocannon`: whole-ms histogram. */
  method: "sequential" | "autocannon";
  requests: number;
  /** Non-2xx answers and connection errors. */
  failures: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  reqPerSec: number;
  /** p50 minus the direct path's p50 in the same scenario; null for direct itself. */
  addedP50Ms: number | null;
  firstFailure?: string;
}

export function scenarioId(kind: ScenarioKind, connections: number, path: PathName): string {
  return `${kind}/c${connections}/${path}`;
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    platform: process.platform,
    arch: process.arch,
    node: process.version,
  };
}

/** Fills `addedP50Ms` of every scenario from the direct path's run of the same kind and concurrency. */
export function withAddedLatency(scenarios: ScenarioResult[]): ScenarioResult[] {
  return scenarios.map((scenario) => {
    if (scenario.path === "direct") return { ...scenario, addedP50Ms: null };
    const direct = scenarios.find(
      (other) => other.path === "direct" && other.kind === scenario.kind && other.connections === scenario.connections,
    );
    return { ...scenario, addedP50Ms: direct ? scenario.p50Ms - direct.p50Ms : null };
  });
}

/** Pretty JSON with measurements rounded to 0.1 µs, so stored results diff readably. */
export function toJson(value: unknown): string {
  const round = (_key: string, field: unknown): unknown =>
    typeof field === "number" && !Number.isInteger(field) ? Math.round(field * 1e4) / 1e4 : field;
  return `${JSON.stringify(value, round, 2)}\n`;
}
