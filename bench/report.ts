import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { missingFromRun, type Regression } from "./baseline.ts";
import { toJson, type BenchResult, type ScenarioResult } from "./result.ts";

/** The aim from the issue: the regional tier adds at most this much p50 at one connection. */
const regionalAddedP50AimMs = 0.5;

/** Everything a run prints: header, table, the aim, failures, and how it compares with the baseline. */
export function formatReport(
  result: BenchResult,
  baseline: BenchResult | undefined,
  regressions: Regression[],
  updatingBaseline: boolean,
): string {
  const lines = [formatHeader(result), "", formatTable(result), ""];
  const aim = formatAim(result);
  if (aim) lines.push(aim);
  lines.push(...formatFailures(result.scenarios));
  if (!baseline) {
    if (!updatingBaseline) lines.push("no baseline (bench/baseline.json); run with --update-baseline to store this run as one");
    return `${lines.join("\n")}\n`;
  }
  const { machine, config } = baseline;
  if (machine.cpuModel !== result.machine.cpuModel || machine.cpus !== result.machine.cpus) {
    lines.push(`note: baseline is from ${machine.cpus} × ${machine.cpuModel}; figures may not be comparable`);
  }
  const settings = (run: BenchResult["config"]): string =>
    `${run.upstreamLatencyMs} ms upstream latency, ${run.durationS} s runs after ${run.warmupS} s warmup, ${run.ttfbRequests} TTFB requests`;
  if (settings(config) !== settings(result.config)) {
    lines.push(
      `note: settings differ, figures are not directly comparable: baseline ${settings(config)}; this run ${settings(result.config)}`,
    );
  }
  for (const id of missingFromRun(result, baseline)) lines.push(`note: baseline scenario ${id} was not measured`);
  lines.push(...regressions.map(formatRegression));
  if (regressions.length === 0) lines.push(`no regression against the baseline of ${baseline.timestamp}`);
  return `${lines.join("\n")}\n`;
}

function formatTable(result: BenchResult): string {
  const header = ["scenario", "path", "method", "requests", "p50 ms", "p99 ms", "req/s", "added p50 ms", "failures"];
  const rows = result.scenarios.map((scenario) => [
    `${scenario.kind} c${scenario.connections}`,
    scenario.path,
    scenario.method,
    String(scenario.requests),
    ms(scenario.p50Ms),
    ms(scenario.p99Ms),
    scenario.reqPerSec.toFixed(0),
    scenario.addedP50Ms === null ? "—" : signedMs(scenario.addedP50Ms),
    String(scenario.failures),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (column < 3 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function formatHeader(result: BenchResult): string {
  const { machine, config } = result;
  return [
    `Breakwater bench — ${result.timestamp}`,
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, ${machine.platform}/${machine.arch}, node ${machine.node}`,
    `mock upstream latency ${config.upstreamLatencyMs} ms; chat runs ${config.durationS} s after ${config.warmupS} s warmup; ` +
      `${config.ttfbRequests} streamed requests per path for TTFB`,
  ].join("\n");
}

/** The issue's aim, or undefined when the regional path was not measured. */
function formatAim(result: BenchResult): string | undefined {
  const regional = result.scenarios.find((scenario) => scenario.id === "chat/c1/regional");
  if (!regional || regional.addedP50Ms === null) return undefined;
  const met = regional.addedP50Ms <= regionalAddedP50AimMs;
  return `aim: regional added p50 at 1 connection ≤ ${regionalAddedP50AimMs} ms — ${signedMs(regional.addedP50Ms)} ms ${met ? "(met)" : "(MISSED)"}`;
}

function formatRegression(regression: Regression): string {
  const unit = regression.metric === "reqPerSec" ? " req/s" : regression.metric === "failures" ? "" : " ms";
  const digits = regression.metric === "reqPerSec" || regression.metric === "failures" ? 0 : 3;
  const delta = regression.current - regression.baseline;
  const pct = regression.baseline === 0 ? "" : `, ${delta > 0 ? "+" : ""}${((delta / Math.abs(regression.baseline)) * 100).toFixed(1)} %`;
  return (
    `REGRESSION ${regression.scenario} ${regression.metric}: ${regression.current.toFixed(digits)}${unit} ` +
    `vs baseline ${regression.baseline.toFixed(digits)}${unit} (${delta > 0 ? "+" : ""}${delta.toFixed(digits)}${unit}${pct})`
  );
}

function formatFailures(scenarios: ScenarioResult[]): string[] {
  return scenarios
    .filter((scenario) => scenario.failures > 0)
    .map(
      (scenario) =>
        `FAILURES ${scenario.id}: ${scenario.failures} of ${scenario.requests}${scenario.firstFailure ? ` — first: ${scenario.firstFailure}` : ""}`,
    );
}

export function writeResult(file: string, result: BenchResult, regressions: Regression[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, toJson({ ...result, regressions }));
}

function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : "—";
}

function signedMs(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(3)}`;
}
