import { describe, expect, it } from "vitest";
import { compare, missingFromRun, type Thresholds } from "../../bench/baseline.ts";
import { compareMicro } from "../../bench/micro.ts";
import type { BenchResult, ScenarioResult } from "../../bench/result.ts";

const thresholds: Thresholds = { latencyPct: 25, p99Pct: 50, minLatencyDeltaMs: 0.2, throughputPct: 25 };

function scenario(id: string, figures: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    id,
    kind: "chat",
    path: "regional",
    connections: 1,
    method: "sequential",
    requests: 1_000,
    failures: 0,
    p50Ms: 1,
    p99Ms: 2,
    meanMs: 1.1,
    reqPerSec: 1_000,
    addedP50Ms: 0.5,
    ...figures,
  };
}

function run(...scenarios: ScenarioResult[]): BenchResult {
  return {
    schema: 1,
    timestamp: "2026-12-06T00:00:00.000Z",
    machine: { cpus: 2, cpuModel: "test", memoryGb: 4, platform: "linux", arch: "x64", node: "v20" },
    config: { upstreamLatencyMs: 2, durationS: 5, warmupS: 2, ttfbRequests: 300, loadConnections: 32, paths: ["direct", "regional"] },
    scenarios,
  };
}

describe("compare (the bench's regression check against bench/baseline.json)", () => {
  it("flags a latency worse by more than both its percentage and the absolute floor", () => {
    const baseline = run(scenario("chat/c1/regional", { p50Ms: 1, addedP50Ms: 0.5 }));
    const slower = run(scenario("chat/c1/regional", { p50Ms: 1.5, addedP50Ms: 1 }));
    expect(compare(slower, baseline, thresholds)).toEqual([
      { scenario: "chat/c1/regional", metric: "p50Ms", baseline: 1, current: 1.5 },
      { scenario: "chat/c1/regional", metric: "addedP50Ms", baseline: 0.5, current: 1 },
    ]);
  });

  it("lets sub-floor noise pass, however large in percent, and gives p99 its looser percentage", () => {
    const baseline = run(scenario("chat/c1/regional", { p50Ms: 0.1, addedP50Ms: 0.05, p99Ms: 2 }));
    const noisy = run(scenario("chat/c1/regional", { p50Ms: 0.25, addedP50Ms: 0.2, p99Ms: 2.9 }));
    expect(compare(noisy, baseline, thresholds)).toEqual([]);
    const worseP99 = run(scenario("chat/c1/regional", { p50Ms: 0.1, addedP50Ms: 0.05, p99Ms: 3.1 }));
    expect(compare(worseP99, baseline, thresholds)).toEqual([{ scenario: "chat/c1/regional", metric: "p99Ms", baseline: 2, current: 3.1 }]);
  });

  it("flags throughput that dropped by more than its percentage", () => {
    const baseline = run(scenario("chat/c32/regional", { reqPerSec: 1_000 }));
    expect(compare(run(scenario("chat/c32/regional", { reqPerSec: 800 })), baseline, thresholds)).toEqual([]);
    expect(compare(run(scenario("chat/c32/regional", { reqPerSec: 700 })), baseline, thresholds)).toEqual([
      { scenario: "chat/c32/regional", metric: "reqPerSec", baseline: 1_000, current: 700 },
    ]);
  });

  it("reports new failures alone: the scenario's other figures mean nothing then", () => {
    const baseline = run(scenario("chat/c32/regional"));
    const failing = run(scenario("chat/c32/regional", { failures: 3, p50Ms: 9, reqPerSec: 10 }));
    expect(compare(failing, baseline, thresholds)).toEqual([
      { scenario: "chat/c32/regional", metric: "failures", baseline: 0, current: 3 },
    ]);
  });

  it("ignores a scenario the baseline does not have, and names the baseline's scenarios the run left out", () => {
    const baseline = run(scenario("chat/c1/direct"), scenario("chat/c1/edge"));
    const current = run(scenario("chat/c1/direct"), scenario("stream-ttfb/c1/regional", { p50Ms: 50 }));
    expect(compare(current, baseline, thresholds)).toEqual([]);
    expect(missingFromRun(current, baseline)).toEqual(["chat/c1/edge"]);
  });
});

describe("compareMicro", () => {
  it("flags a cost that rose, or a rate that fell, by more than the percentage", () => {
    const baseline = [
      { id: "pick", value: 1, unit: "µs/op" as const },
      { id: "writes", value: 1_000, unit: "events/s" as const },
    ];
    expect(compareMicro([{ id: "pick", value: 1.4, unit: "µs/op" }], baseline, 50)).toEqual([]);
    expect(compareMicro([{ id: "pick", value: 1.6, unit: "µs/op" }], baseline, 50)).toHaveLength(1);
    expect(compareMicro([{ id: "writes", value: 400, unit: "events/s" }], baseline, 50)).toHaveLength(1);
  });
});
