import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { toJson, type BenchResult, type ScenarioResult } from "./result.ts";

export interface Thresholds {
  latencyPct: number;
  p99Pct: number;
  minLatencyDeltaMs: number;
  throughputPct: number;
}

export interface Regression {
  scenario: string;
  metric: "p50Ms" | "p99Ms" | "addedP50Ms" | "reqPerSec" | "failures";
  baseline: number;
  current: number;
}

export function readBaseline(file: string): BenchResult | undefined {
  if (!existsSync(file)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || !("schema" in parsed) || parsed.schema !== 1) {
    throw new Error(`${file} is not a bench result of schema 1`);
  }
  return parsed as BenchResult;
}

export function writeBaseline(file: string, result: BenchResult): void {
  writeFileSync(file, toJson(result));
}

/**
 * A latency regresses when it is worse by more than the percentage *and* the absolute floor
 * (sub-millisecond noise must not trip it); throughput when it drops by more than its percentage;
 * any new failed request is one, and makes that scenario's figures meaningless.
 */
export function compare(current: BenchResult, baseline: BenchResult, thresholds: Thresholds): Regression[] {
  const regressions: Regression[] = [];
  for (const scenario of current.scenarios) {
    const base = baseline.scenarios.find((candidate) => candidate.id === scenario.id);
    if (!base) continue;
    if (scenario.failures > base.failures) {
      regressions.push({ scenario: scenario.id, metric: "failures", baseline: base.failures, current: scenario.failures });
      continue;
    }
    for (const metric of ["p50Ms", "p99Ms", "addedP50Ms"] as const) {
      const now = scenario[metric];
      const before = base[metric];
      if (now === null || before === null) continue;
      const delta = now - before;
      const pct = metric === "p99Ms" ? thresholds.p99Pct : thresholds.latencyPct;
      if (delta > thresholds.minLatencyDeltaMs && delta > (Math.abs(before) * pct) / 100) {
        regressions.push({ scenario: scenario.id, metric, baseline: before, current: now });
      }
    }
    if (scenario.reqPerSec < base.reqPerSec * (1 - thresholds.throughputPct / 100)) {
      regressions.push({ scenario: scenario.id, metric: "reqPerSec", baseline: base.reqPerSec, current: scenario.reqPerSec });
    }
  }
  return regressions;
}

/** Scenarios of the baseline this run did not measure, so a silently dropped path is noticed. */
export function missingFromRun(current: BenchResult, baseline: BenchResult): string[] {
  const measured = new Set(current.scenarios.map((scenario: ScenarioResult) => scenario.id));
  return baseline.scenarios.map((scenario) => scenario.id).filter((id) => !measured.has(id));
}
