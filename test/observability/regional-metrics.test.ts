import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultBreakerPolicy } from "../../shared/circuit-breaker.ts";
import { createGpuGuard } from "../../regional/gpu/guard.ts";
import { createMockMarketplaces } from "../../regional/gpu/marketplaces/mock/index.ts";
import { createGpuService } from "../../regional/gpu/service.ts";
import { createMetrics, type Metrics } from "../../regional/observability/metrics.ts";
import { metricsApp } from "../../regional/observability/metrics-route.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { listen, type RunningServer } from "../../regional/server.ts";
import { parseExposition, valueOf, type Exposition } from "../support/prometheus-text.ts";
import { createTestApp, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

let t: TestApp;
let metrics: Metrics;

const once = { maxAttempts: 1 };
beforeAll(async () => {
  metrics = createMetrics();
  const marketplaces = createMockMarketplaces({ bootMs: 0 });
  t = await createTestApp(inject("primaryUrl"), {
    adminKey: testAdminKey,
    metrics,
    providers: [
      createMockProvider(),
      createMockProvider({ name: "flaky", faults: { echo: "status=503" } }),
      createMockProvider({ name: "backup" }),
      createMockProvider({ name: "broken", faults: { echo: "status=500" } }),
      createMockProvider({ name: "cut", faults: { echo: "break-after=2" } }),
      createMockProvider({ name: "mock-anthropic", wire: "anthropic" }),
    ],
    routes: {
      routes: {
        "with-fallback": {
          targets: [
            { provider: "flaky", model: "echo" },
            { provider: "backup", model: "echo" },
          ],
          retry: once,
        },
        continued: {
          targets: [
            { provider: "cut", model: "echo" },
            { provider: "mock-anthropic", model: "echo" },
          ],
        },
        "cut-alone": { targets: [{ provider: "cut", model: "echo" }] },
        fragile: { targets: [{ provider: "broken", model: "echo" }], retry: once, breaker: { failureThreshold: 1 } },
      },
    },
    gpu: ({ db, logger, breakers }) =>
      createGpuService({
        db,
        logger,
        marketplaces: [marketplaces.vastai.marketplace, marketplaces.ionet.marketplace],
        guard: createGpuGuard({ breakers, timeoutMs: 10_000, attempts: 1, sleep: async () => {} }),
      }),
  });
});
afterAll(async () => t?.close());

const chat = (model: string, extra: Record<string, unknown> = {}) =>
  t.app.request(
    postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "count these five words" }], ...extra }, t.apiKey),
  );

async function scrape(): Promise<Exposition> {
  const response = await t.app.request("/metrics", { headers: { authorization: `Bearer ${testAdminKey}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

describe("/metrics", () => {
  it("answers only with the admin key on the main port", async () => {
    expect((await t.app.request("/metrics")).status).toBe(401);
    expect((await t.app.request("/metrics", { headers: { authorization: `Bearer ${t.apiKey}` } })).status).toBe(401);
    const scraped = await scrape();
    expect(scraped.types.get("breakwater_http_requests_total")).toBe("counter");
    // Node's runtime metrics under their standard names.
    expect(scraped.types.get("nodejs_eventloop_lag_p99_seconds")).toBe("gauge");
    expect(scraped.types.get("nodejs_heap_size_used_bytes")).toBe("gauge");
  });

  it("is refused on the main port when no admin key is configured", async () => {
    const keyless = await createTestApp(inject("primaryUrl"), { metrics: createMetrics() });
    try {
      expect((await keyless.app.request("/metrics")).status).toBe(403);
    } finally {
      await keyless.close();
    }
  });

  it("answers without a key on the metrics port, and serves nothing else there", async () => {
    const server: RunningServer = await listen(metricsApp(metrics), "127.0.0.1", 0);
    try {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(parseExposition(await response.text()).types.get("breakwater_upstream_attempts_total")).toBe("counter");
      expect((await fetch(`${server.url}/v1/models`)).status).toBe(404);
    } finally {
      await server.close(0);
    }
  });
});

describe("what a request leaves in the metrics", () => {
  it("counts a failed attempt, the fallback that served, and the answer by route and status", async () => {
    const response = await chat("with-fallback");
    expect(response.status).toBe(200);
    const scraped = await scrape();
    expect(valueOf(scraped, "breakwater_upstream_attempts_total", { provider: "flaky", model: "echo", outcome: "provider_fault" })).toBe(1);
    expect(valueOf(scraped, "breakwater_upstream_attempts_total", { provider: "backup", model: "echo", outcome: "ok" })).toBe(1);
    expect(valueOf(scraped, "breakwater_upstream_fallbacks_total", { provider: "backup", model: "echo" })).toBe(1);
    expect(valueOf(scraped, "breakwater_upstream_fallbacks_total", { provider: "flaky", model: "echo" })).toBe(0);
    expect(valueOf(scraped, "breakwater_upstream_attempt_duration_seconds_count", { provider: "flaky", outcome: "provider_fault" })).toBe(
      1,
    );
    expect(
      valueOf(scraped, "breakwater_http_requests_total", { method: "POST", route: "/v1/chat/completions", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(scraped, "breakwater_http_request_duration_seconds_count", {
        method: "POST",
        route: "/v1/chat/completions",
        status_class: "2xx",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(valueOf(scraped, "breakwater_tokens_total", { provider: "backup", direction: "input" })).toBeGreaterThan(0);
  });

  it("counts database reads by node and why they went there", async () => {
    await chat("mock/echo");
    const scraped = await scrape();
    // No replica configured: every read goes to the primary, for want of one.
    expect(valueOf(scraped, "breakwater_db_reads_total", { node: "primary", reason: "no_replica" })).toBeGreaterThan(0);
    expect(valueOf(scraped, "breakwater_db_reads_total", { node: "replica" })).toBe(0);
    expect(valueOf(scraped, "breakwater_db_node_up", { node: "primary" })).toBe(1);
  });

  it("shows the database pool's connections by state, and the queries waiting for one", async () => {
    const idle = await scrape();
    expect(valueOf(idle, "breakwater_db_pool_connections", { node: "primary", state: "max" })).toBe(4);
    expect(valueOf(idle, "breakwater_db_pool_waiting_queries", { node: "primary" })).toBe(0);

    // Every connection held by an open transaction: the next query has to wait.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const transactions = Array.from({ length: 4 }, () => t.db.write.begin(async (tx) => (await tx`select 1`, await held)));
    await expect
      .poll(async () => valueOf(await scrape(), "breakwater_db_pool_connections", { node: "primary", state: "reserved" }))
      .toBe(4);
    const waiting = t.db.write`select 1 as answer`.then((rows) => rows);
    const crowded = await scrape();
    expect(valueOf(crowded, "breakwater_db_pool_waiting_queries", { node: "primary" })).toBeGreaterThanOrEqual(1);
    expect(valueOf(crowded, "breakwater_db_pool_connections", { node: "primary", state: "idle" })).toBe(0);

    release();
    await Promise.all(transactions);
    expect(await waiting).toEqual([{ answer: 1 }]);
    await expect.poll(async () => valueOf(await scrape(), "breakwater_db_pool_waiting_queries", { node: "primary" })).toBe(0);
  });

  it("labels a path no route serves as unmatched, never the raw path", async () => {
    await t.app.request("/no/such/path/12345");
    const scraped = await scrape();
    expect(valueOf(scraped, "breakwater_http_requests_total", { route: "unmatched", status: "404" })).toBeGreaterThanOrEqual(1);
    expect(scraped.samples.some((sample) => sample.labels.route?.includes("12345"))).toBe(false);
  });

  it("shows a breaker that opened in the gauges and its transition", async () => {
    expect((await chat("fragile")).status).toBe(503);
    const scraped = await scrape();
    expect(valueOf(scraped, "breakwater_circuit_breakers_open")).toBeGreaterThanOrEqual(1);
    expect(valueOf(scraped, "breakwater_circuit_breaker_state", { breaker: "broken/echo", state: "open" })).toBe(1);
    expect(valueOf(scraped, "breakwater_circuit_breaker_state", { breaker: "broken/echo", state: "closed" })).toBe(0);
    expect(valueOf(scraped, "breakwater_circuit_breaker_transitions_total", { breaker: "broken/echo", from: "closed", to: "open" })).toBe(
      1,
    );
    // The provider's breaker saw a working connection: closed.
    expect(valueOf(scraped, "breakwater_circuit_breaker_state", { breaker: "broken", state: "closed" })).toBe(1);
  });

  it("times a streamed answer's first token and counts its tokens once it ended", async () => {
    const response = await chat("mock/echo", { stream: true });
    expect(response.status).toBe(200);
    const before = await scrape();
    expect(valueOf(before, "breakwater_upstream_time_to_first_token_seconds_count", { provider: "mock", model: "echo" })).toBe(1);
    await response.text();
    const after = await scrape();
    expect(valueOf(after, "breakwater_tokens_total", { provider: "mock", model: "echo", direction: "output" })).toBeGreaterThan(0);
    // The stream's duration is recorded when it ends, not at its headers.
    const streamed = { method: "POST", route: "/v1/chat/completions", status_class: "2xx" };
    expect(valueOf(after, "breakwater_http_request_duration_seconds_count", streamed)).toBe(
      valueOf(before, "breakwater_http_request_duration_seconds_count", streamed) + 1,
    );
  });

  it("counts streams that broke after they started, and whether they were continued", async () => {
    await (await chat("continued", { stream: true })).text();
    await (await chat("cut-alone", { stream: true })).text();
    const scraped = await scrape();
    expect(valueOf(scraped, "breakwater_stream_failures_total", { provider: "cut", outcome: "provider_fault" })).toBe(2);
    expect(valueOf(scraped, "breakwater_stream_continuations_total", { result: "continued" })).toBe(1);
    expect(valueOf(scraped, "breakwater_stream_continuations_total", { result: "no_target" })).toBe(1);
  });

  it("counts GPU instances by state, and the lifecycle counters", async () => {
    const response = await t.app.request(
      postJson(
        "/v1/gpu/instances",
        { gpu_model: "RTX 4090", gpu_count: 1, max_price_per_hour: 1, image: "pytorch/pytorch:latest" },
        t.apiKey,
        { "idempotency-key": "metrics-test-1" },
      ),
    );
    expect(response.status).toBeLessThan(300);
    const scraped = await scrape();
    expect(valueOf(scraped, "breakwater_gpu_instances")).toBe(1);
    expect(scraped.samples.filter((sample) => sample.name === "breakwater_gpu_instances").map((sample) => sample.labels.state)).toEqual(
      expect.arrayContaining(["pending", "provisioning", "running", "degraded", "stopped", "terminating"]),
    );
    expect(
      scraped.samples.some((sample) => sample.name === "breakwater_gpu_lifecycle_events_total" && sample.labels.event === "sweeps"),
    ).toBe(true);
  });

  it("escapes label values a scraper would otherwise misread", async () => {
    t.deps.router.breakers.ensure('odd"name\\with\nnewline', defaultBreakerPolicy);
    const text = await (await t.app.request("/metrics", { headers: { authorization: `Bearer ${testAdminKey}` } })).text();
    expect(text).toContain('breaker="odd\\"name\\\\with\\nnewline"');
    expect(
      valueOf(parseExposition(text), "breakwater_circuit_breaker_state", { breaker: 'odd"name\\with\nnewline', state: "closed" }),
    ).toBe(1);
  });
});

// Last: its stream would change the counts the tests above read.
describe("capacity in the metrics", () => {
  it("shows each route's admission queue and the calls in flight per provider and target", async () => {
    const before = valueOf(await scrape(), "breakwater_queue_requests_total", { queue: "mock/echo", result: "admitted" });
    const stream = await chat("mock/echo", { stream: true });
    // The stream holds its slot and its provider call until it ends.
    const during = await scrape();
    expect(valueOf(during, "breakwater_queue_in_flight", { queue: "mock/echo" })).toBe(1);
    expect(valueOf(during, "breakwater_provider_in_flight", { provider: "mock" })).toBe(1);
    expect(valueOf(during, "breakwater_target_in_flight", { target: "mock/echo" })).toBe(1);
    await stream.text();
    const after = await scrape();
    expect(valueOf(after, "breakwater_queue_requests_total", { queue: "mock/echo", result: "admitted" })).toBe(before + 1);
    expect(valueOf(after, "breakwater_queue_in_flight", { queue: "mock/echo" })).toBe(0);
    expect(valueOf(after, "breakwater_target_in_flight", { target: "mock/echo" })).toBe(0);
    expect(valueOf(after, "breakwater_queue_shedding", { queue: "mock/echo" })).toBe(0);
    expect(after.types.get("breakwater_queue_wait_seconds")).toBe("gauge");
  });
});
