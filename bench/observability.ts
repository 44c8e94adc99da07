/**
 * What observability costs a request (issue 18: ≤ 20 µs on the success path): the regional
 * app in process over a real Postgres, a non-stream chat on the mock provider, measured with
 * everything on — Prometheus metrics, tracing with a batch exporter posting OTLP to a local
 * sink, the access log (pino, one JSON line a request) — and with all of it off, in alternating
 * rounds so both see the same machine. The in-process mock keeps the network out of the figure.
 *
 * `npm run bench` calls `observabilityFigures`; `tsx bench/observability.ts` runs it alone.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { createMetrics } from "../regional/observability/metrics.ts";
import { createTracing } from "../regional/observability/tracing.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { createTestApp, postJson, type TestApp } from "../test/support/regional-app.ts";
import { formatMicro, type MicroResult } from "./micro.ts";
import { percentile } from "./stats.ts";

export interface ObservabilityOptions {
  /** Requests per variant and round. */
  requests?: number;
  rounds?: number;
}

export async function observabilityFigures(options: ObservabilityOptions = {}): Promise<MicroResult[]> {
  const requests = options.requests ?? 2_000;
  const rounds = options.rounds ?? 5;
  const cluster = await startPostgres({ database: "observability_bench" });
  const sink = await startOtlpSink();
  const tracing = createTracing({ exporter: new OTLPTraceExporter({ url: `${sink.url}/v1/traces` }), serviceName: "bench" });
  const logLines: string[] = [];
  const off = await createTestApp(cluster.primaryUrl, { keyCacheTtlMs: 60_000 });
  const on = await createTestApp(cluster.primaryUrl, { keyCacheTtlMs: 60_000, metrics: createMetrics(), tracer: tracing.tracer, logLines });
  try {
    const offUs: number[] = [];
    const onUs: number[] = [];
    await perRequestUs(off, requests);
    await perRequestUs(on, requests);
    for (let round = 0; round < rounds; round++) {
      // Alternating, so a burst of load elsewhere on the machine lands on both.
      offUs.push(await perRequestUs(off, requests));
      onUs.push(await perRequestUs(on, requests));
      logLines.length = 0;
    }
    await tracing.flush();
    if (sink.spans() === 0) throw new Error("the OTLP sink received no spans: tracing was not on");
    const offMedian = percentile(
      offUs.sort((a, b) => a - b),
      0.5,
    );
    const onMedian = percentile(
      onUs.sort((a, b) => a - b),
      0.5,
    );
    return [
      { id: "chat in process, observability off (µs/request)", value: offMedian, unit: "µs/op" },
      { id: "chat in process, metrics + tracing (OTLP) + access log (µs/request)", value: onMedian, unit: "µs/op" },
      { id: "observability on over off (added µs/request)", value: onMedian - offMedian, unit: "µs/op", aim: { op: "≤", value: 20 } },
    ];
  } finally {
    await on.close();
    await off.close();
    await tracing.shutdown();
    await sink.close();
    await cluster.stop();
  }
}

/** Mean wall time of `requests` sequential non-stream chats through the app. */
async function perRequestUs(t: TestApp, requests: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const response = await t.app.request(
      postJson("/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content: `hi ${i}` }] }, t.apiKey),
    );
    if (response.status !== 200) throw new Error(`chat answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  return ((performance.now() - started) * 1000) / requests;
}

interface OtlpSink {
  url: string;
  spans(): number;
  close(): Promise<void>;
}

/** Takes OTLP/HTTP exports on loopback and counts the requests that carried spans. */
async function startOtlpSink(): Promise<OtlpSink> {
  let exports = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports += 1;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => exports,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(formatMicro(await observabilityFigures()));
