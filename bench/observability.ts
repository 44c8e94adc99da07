/**
 * What observability costs a request (issue 18: ≤ 20 µs on the success path): the regional
 * app in process over a real Postgres, a non-stream chat answered at once by a stub provider,
 * measured with everything on — Prometheus metrics, tracing with a batch exporter posting OTLP
 * to a local sink, the access log (pino, one JSON line a request) — and with all of it off, in
 * alternating rounds so both see the same machine. The figure is this process's CPU time per
 * request (not wall time): other work on a shared machine moves it far less.
 *
 * `npm run bench` calls `observabilityFigures`; `tsx bench/observability.ts` runs it alone.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { createMetrics } from "../regional/observability/metrics.ts";
import { createTracing } from "../regional/observability/tracing.ts";
import { samplerOf } from "../regional/observability/trace-settings.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { createTestApp, postJson, type TestApp } from "../test/support/regional-app.ts";
import type { Provider } from "../regional/providers/types.ts";
import { formatMicro, type MicroResult } from "./micro.ts";
import { percentile } from "./stats.ts";

export interface ObservabilityOptions {
  /** Requests per measured batch. */
  requests?: number;
  /** Measured batches per variant and process (the median counts). */
  batches?: number;
}

/** Each part on its own, all of them (traces of every request, or of one in ten), and none. */
const variants = ["off", "metrics", "tracing", "access log", "all", "all, traces sampled 10 %"] as const;
type Variant = (typeof variants)[number];

/**
 * Every variant in a process of its own: on Node 20 the first request traced in a process
 * (AsyncLocalStorage) slows every promise of it from then on, which in one process would land
 * on the "off" variant too. Each runs twice, in reverse order the second time; the mean counts.
 */
export async function observabilityFigures(options: ObservabilityOptions = {}): Promise<MicroResult[]> {
  const cluster = await startPostgres({ database: "observability_bench" });
  const sink = await startOtlpSink();
  try {
    const runs = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
    for (const order of [variants, [...variants].reverse()]) {
      for (const variant of order) runs.get(variant)?.push(await inChild(variant, cluster.primaryUrl, sink.url, options));
    }
    if (sink.spans() === 0) throw new Error("the OTLP sink received no spans: tracing was not on");
    const us = (variant: Variant) => mean(runs.get(variant) ?? []);
    const off = us("off");
    return [
      { id: "chat in process, observability off (CPU µs/request)", value: off, unit: "µs/op" },
      ...variants
        .filter((variant) => variant !== "off" && !variant.startsWith("all"))
        .map((variant): MicroResult => ({
          id: `observability: ${variant} alone (added CPU µs/request)`,
          value: us(variant) - off,
          unit: "µs/op",
        })),
      {
        id: "observability: metrics + tracing (OTLP) + access log (added CPU µs/request)",
        value: us("all") - off,
        unit: "µs/op",
        aim: { op: "≤", value: 20 },
      },
      {
        id: "observability: the same, traces sampled 1 in 10 (added CPU µs/request)",
        value: us("all, traces sampled 10 %") - off,
        unit: "µs/op",
        aim: { op: "≤", value: 20 },
      },
    ];
  } finally {
    await sink.close();
    await cluster.stop();
  }
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

function inChild(variant: Variant, databaseUrl: string, sinkUrl: string, options: ObservabilityOptions): Promise<number> {
  const args = ["--import", "tsx", fileURLToPath(import.meta.url), "--variant", variant, "--database", databaseUrl, "--sink", sinkUrl];
  args.push("--requests", String(options.requests ?? 2_000), "--batches", String(options.batches ?? 5));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: fileURLToPath(new URL("..", import.meta.url)) }, (error, stdout, stderr) => {
      const value = Number(/^cpu-us (\S+)$/m.exec(stdout)?.[1]);
      if (error || !Number.isFinite(value))
        reject(new Error(`observability variant ${variant} failed: ${error?.message ?? ""}\n${stderr}`));
      else resolve(value);
    });
  });
}

/** The child's part: the app with `variant` on, warmed up, then the median of its batches. */
async function measureVariant(variant: Variant, databaseUrl: string, sinkUrl: string, requests: number, batches: number): Promise<number> {
  const everything = variant.startsWith("all");
  const tracing =
    variant === "tracing" || everything
      ? createTracing({
          exporter: new OTLPTraceExporter({ url: `${sinkUrl}/v1/traces` }),
          serviceName: "bench",
          ...(variant === "all, traces sampled 10 %" && { sampler: samplerOf("parentbased_traceidratio", 0.1) }),
        })
      : undefined;
  const logLines: string[] = [];
  const t = await createTestApp(databaseUrl, {
    providers: [instantProvider()],
    keyCacheTtlMs: 60_000,
    ...((variant === "metrics" || everything) && { metrics: createMetrics() }),
    ...(tracing && { tracer: tracing.tracer }),
    ...((variant === "access log" || everything) && { logLines }),
  });
  try {
    await perRequestUs(t, requests);
    const measured: number[] = [];
    for (let batch = 0; batch < batches; batch++) {
      measured.push(await perRequestUs(t, requests));
      logLines.length = 0;
    }
    await tracing?.flush();
    return percentile(
      measured.sort((a, b) => a - b),
      0.5,
    );
  } finally {
    await t.close();
    await tracing?.shutdown();
  }
}

/** This process's mean CPU time (user + system) over `requests` sequential non-stream chats through the app. */
async function perRequestUs(t: TestApp, requests: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const body = { model: "stub/m", messages: [{ role: "user", content: `hi ${i}` }] };
    const response = await t.app.request(postJson("/v1/chat/completions", body, t.apiKey));
    if (response.status !== 200) throw new Error(`chat answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / requests;
}

/** A provider that answers every chat at once: the figure is the gateway's own work. */
function instantProvider(): Provider {
  const unused = () => Promise.reject(new Error("not called by the bench"));
  return {
    name: "stub",
    models: () => [{ id: "m", kind: "chat" }],
    chat: async (request) => ({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created: 1_700_000_000,
      model: request.model,
      choices: [{ index: 0, message: { role: "assistant", content: "Hello from the stub." }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
    }),
    chatStream: unused,
    embeddings: unused,
  };
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      variant: { type: "string" },
      database: { type: "string" },
      sink: { type: "string" },
      requests: { type: "string" },
      batches: { type: "string" },
    },
  });
  const variant = variants.find((name) => name === values.variant);
  if (variant && values.database && values.sink) {
    const us = await measureVariant(variant, values.database, values.sink, Number(values.requests ?? 2_000), Number(values.batches ?? 5));
    process.stdout.write(`cpu-us ${us}\n`);
  } else console.log(formatMicro(await observabilityFigures()));
}
