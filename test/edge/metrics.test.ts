import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { aggregatedSeries, flushTarget } from "../../edge/metrics/aggregate.ts";
import { createMetricBatch, defaultBatchLimits, type FlushTarget } from "../../edge/metrics/batch.ts";
import { exposition } from "../../edge/metrics/exposition.ts";
import { edgeFetch, metricSum, opsHeaders } from "./harness.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** A flush target whose waitUntil work the test can wait for, sending to the real aggregator objects. */
function aggregator(intervalMs = 1_000): FlushTarget & { settled(): Promise<void> } {
  const work: Promise<unknown>[] = [];
  const target = flushTarget(env.METRICS_AGGREGATOR, (promise) => work.push(promise), intervalMs);
  return { ...target, settled: async () => void (await Promise.all(work)) };
}

/** The whole edge's sums as a scrape sees them, from an isolate with nothing unsent. */
async function scraped(): Promise<Map<string, number>> {
  return await aggregatedSeries(env.METRICS_AGGREGATOR, createMetricBatch());
}

/** Lets the promise jobs queued so far run (timers are faked where this is used). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const origin = () => `origin-${crypto.randomUUID().slice(0, 8)}`;

describe("edge metrics across isolates", () => {
  it("adds up what two isolates counted, in one scrape", async () => {
    const name = origin();
    const labels = { origin: name, reason: "connect" };
    let clock = 0;
    const [first, second] = [createMetricBatch(defaultBatchLimits, () => clock), createMetricBatch(defaultBatchLimits, () => clock)];
    first.count("breakwater_edge_origin_failovers_total", labels);
    first.count("breakwater_edge_origin_failovers_total", labels);
    second.count("breakwater_edge_origin_failovers_total", labels, 3);
    first.observe("breakwater_edge_origin_attempt_duration_seconds", { origin: name, outcome: "ok" }, 0.02);
    second.observe("breakwater_edge_origin_attempt_duration_seconds", { origin: name, outcome: "ok" }, 3);

    clock = 1_000;
    const target = aggregator();
    first.flushSoon(target);
    second.flushSoon(target);
    await target.settled();

    const text = exposition(await scraped());
    expect(text).toContain(`breakwater_edge_origin_failovers_total{origin="${name}",reason="connect"} 5\n`);
    const histogram = text.split("\n").filter((line) => line.includes(`origin="${name}",outcome="ok"`));
    expect(histogram).toEqual(
      expect.arrayContaining([
        `breakwater_edge_origin_attempt_duration_seconds_bucket{origin="${name}",outcome="ok",le="0.01"} 0`,
        `breakwater_edge_origin_attempt_duration_seconds_bucket{origin="${name}",outcome="ok",le="0.025"} 1`,
        `breakwater_edge_origin_attempt_duration_seconds_bucket{origin="${name}",outcome="ok",le="2.5"} 1`,
        `breakwater_edge_origin_attempt_duration_seconds_bucket{origin="${name}",outcome="ok",le="5"} 2`,
        `breakwater_edge_origin_attempt_duration_seconds_bucket{origin="${name}",outcome="ok",le="+Inf"} 2`,
        `breakwater_edge_origin_attempt_duration_seconds_sum{origin="${name}",outcome="ok"} 3.02`,
        `breakwater_edge_origin_attempt_duration_seconds_count{origin="${name}",outcome="ok"} 2`,
      ]),
    );
  });

  it("shows a scrape this isolate's unsent counts beside the aggregate, each counted once", async () => {
    const labels = { origin: origin(), reason: "open" };
    let clock = 0;
    const batch = createMetricBatch(defaultBatchLimits, () => clock);
    batch.count("breakwater_edge_origin_failovers_total", labels);
    clock = 1_000;
    const target = aggregator();
    batch.flushSoon(target);
    await target.settled();
    batch.count("breakwater_edge_origin_failovers_total", labels);

    const sums = await aggregatedSeries(env.METRICS_AGGREGATOR, batch);
    expect(exposition(sums)).toContain(`breakwater_edge_origin_failovers_total{origin="${labels.origin}",reason="open"} 2\n`);
  });

  it("keeps the counts of a failed flush for the next one", async () => {
    const labels = { origin: origin(), reason: "timeout" };
    let clock = 0;
    const batch = createMetricBatch(defaultBatchLimits, () => clock);
    batch.count("breakwater_edge_origin_failovers_total", labels, 2);
    const work: Promise<unknown>[] = [];
    clock = 1_000;
    batch.flushSoon({
      send: async () => await Promise.reject(new Error("aggregator gone")),
      waitUntil: (p) => work.push(p),
      intervalMs: 1_000,
    });
    await Promise.all(work);
    batch.count("breakwater_edge_origin_failovers_total", labels);

    clock = 2_000;
    const target = aggregator();
    batch.flushSoon(target);
    await target.settled();

    const text = exposition(await scraped());
    expect(text).toContain(`breakwater_edge_origin_failovers_total{origin="${labels.origin}",reason="timeout"} 3\n`);
  });

  it("sends a batch when its interval has passed or enough increments piled up, never two at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    let clock = 0;
    const batch = createMetricBatch({ ...defaultBatchLimits, maxEvents: 3 }, () => clock);
    const sent: [string, number][][] = [];
    let answer: () => void = () => {};
    const work: Promise<unknown>[] = [];
    const target: FlushTarget = {
      send: async (deltas) => {
        sent.push(deltas);
        await new Promise<void>((resolve) => (answer = resolve));
      },
      waitUntil: (promise) => work.push(promise),
      intervalMs: 1_000,
    };
    const labels = { origin: "o", reason: "open" };

    batch.count("breakwater_edge_origin_failovers_total", labels);
    batch.flushSoon(target);
    await settle();
    expect(sent).toHaveLength(0);

    // Three increments: sent at once, before the interval.
    batch.count("breakwater_edge_origin_failovers_total", labels, 1);
    batch.count("breakwater_edge_origin_failovers_total", labels, 1);
    batch.flushSoon(target);
    await settle();
    expect(sent).toHaveLength(1);

    // While that flush is under way nothing else goes, however much piles up.
    for (let i = 0; i < 5; i++) batch.count("breakwater_edge_origin_failovers_total", labels);
    batch.flushSoon(target);
    await settle();
    expect(sent).toHaveLength(1);
    answer();
    await settle();

    // The timer set by the first call fires at the interval and sends what is left.
    clock = 1_000;
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toContainEqual(['breakwater_edge_origin_failovers_total{origin="o",reason="open"}', 5]);
    // The batch's own count of its flushes rides along.
    expect(sent[1]).toContainEqual(['breakwater_edge_metrics_flushes_total{result="ok"}', 1]);
    answer();
  });

  it("drops increments of new series past the batch's bound, and counts them", async () => {
    const batch = createMetricBatch({ ...defaultBatchLimits, maxSeries: 2 });
    for (const reason of ["a", "b", "c", "d"]) batch.count("breakwater_edge_origin_failovers_total", { origin: "o", reason });

    const text = exposition(await batch.whileHeld(async (unflushed) => new Map(unflushed)));
    expect(text).toContain('breakwater_edge_origin_failovers_total{origin="o",reason="b"} 1\n');
    expect(text).not.toContain('reason="c"');
    expect(text).toContain("breakwater_edge_metrics_dropped_total 2\n");
  });
});

describe("the edge's /metrics", () => {
  it("escapes label values as the exposition format asks", () => {
    const batch = new Map([['breakwater_edge_origin_failovers_total{origin="a\\"b\\\\c\\nd",reason="open"}', 1]]);
    const text = exposition(batch);

    expect(text).toContain('breakwater_edge_origin_failovers_total{origin="a\\"b\\\\c\\nd",reason="open"} 1\n');
  });

  it("escapes what callers count under awkward names: backslash, quote and line break", async () => {
    const batch = createMetricBatch();
    batch.count("breakwater_edge_origin_failovers_total", { origin: 'eu "west"\\1\nx', reason: "open" });

    const text = exposition(await batch.whileHeld(async (unflushed) => new Map(unflushed)));
    expect(text).toContain('breakwater_edge_origin_failovers_total{origin="eu \\"west\\"\\\\1\\nx",reason="open"} 1\n');
    // Every sample stays on one line.
    expect(text.split("\n").filter((line) => line.startsWith("x"))).toEqual([]);
  });

  it("counts requests by route template and status class, with HELP and TYPE for every family", async () => {
    const before = await metricSum('breakwater_edge_request_duration_seconds_count{route="/v1/models/:id",status_class="2xx"}');
    await (await edgeFetch("/v1/models/some-model")).text();

    const res = await edgeFetch("/metrics", { headers: opsHeaders }, null);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain("# TYPE breakwater_edge_request_duration_seconds histogram\n");
    expect(text).toContain("# TYPE breakwater_edge_origin_failovers_total counter\n");
    expect(await metricSum('breakwater_edge_request_duration_seconds_count{route="/v1/models/:id",status_class="2xx"}')).toBe(before + 1);
  });

  it("refuses a scrape without the metrics key", async () => {
    const res = await edgeFetch("/metrics", undefined, null);

    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain("breakwater_edge_");
  });
});
