import { performance } from "node:perf_hooks";

/** An in-process figure: the cost of one piece of the gateway, measured in a loop. */
export interface MicroResult {
  id: string;
  value: number;
  unit: "µs/op" | "ms/op" | "ops/s" | "events/s" | "streams" | "ms" | "MiB" | "calls" | "calls/req" | "sockets/stream";
  /** The aim, e.g. `≤ 1`; printed beside the figure. */
  aim?: { op: "≤" | "≥"; value: number };
}

/** Microseconds per call of `body`, after a warm-up, over `iterations` calls. */
export async function microsecondsPerOp(iterations: number, body: () => unknown): Promise<number> {
  const warmup = Math.max(1, Math.floor(iterations / 10));
  for (let i = 0; i < warmup; i++) await body();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await body();
  return ((performance.now() - started) * 1000) / iterations;
}

/** Like `microsecondsPerOp` for synchronous code, without an await per call. */
export function microsecondsPerOpSync(iterations: number, body: () => unknown): number {
  const warmup = Math.max(1, Math.floor(iterations / 10));
  for (let i = 0; i < warmup; i++) body();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) body();
  return ((performance.now() - started) * 1000) / iterations;
}

export function formatMicro(results: MicroResult[]): string {
  const rows = results.map((result) => {
    const met = result.aim ? (result.aim.op === "≤" ? result.value <= result.aim.value : result.value >= result.aim.value) : undefined;
    const aim = result.aim ? `${result.aim.op} ${result.aim.value} ${met ? "(met)" : "(MISSED)"}` : "";
    return [result.id, result.value < 10 ? result.value.toFixed(3) : result.value.toFixed(0), result.unit, aim];
  });
  const header = ["micro", "value", "unit", "aim"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 1 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** A micro figure regresses when it is worse than the baseline's by more than `pct` percent. */
export function compareMicro(current: MicroResult[], baseline: MicroResult[], pct: number): string[] {
  return current.flatMap((result) => {
    const before = baseline.find((candidate) => candidate.id === result.id);
    if (!before) return [];
    const higherIsBetter = result.unit === "ops/s" || result.unit === "events/s" || result.unit === "streams";
    const worse = higherIsBetter ? result.value < before.value * (1 - pct / 100) : result.value > before.value * (1 + pct / 100);
    return worse ? [`REGRESSION micro ${result.id}: ${before.value.toFixed(3)} → ${result.value.toFixed(3)} ${result.unit}`] : [];
  });
}
