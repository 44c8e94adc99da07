/**
 * What observability costs a request (issue 18: ≤ 20 µs on the success path): the regional
 * app in process over a real Postgres, a non-stream chat answered at once by a stub provider,
 * measured with everything on — Prometheus metrics, tracing with a batch exporter posting OTLP
 * to a local sink, the access log (pino, one JSON line a request) — with each part alone, and
 * with all of it off. The figure is CPU time per request (not wall time): other work on a
 * shared machine moves it far less.
 *
 * Every variant is an app of its own in one process, measured in turns — a batch of each, in
 * a rotating order, round after round — and each round's figure is taken against that round's
 * "off" batch, the median of the rounds counting: drift (a neighbour's load, the CPU's clock)
 * lands on both sides of each difference. One process is fair since no variant turns on
 * process-wide costs for the others (tracing enters its AsyncLocalStorage only around work
 * that needs it; see regional/observability/scoped-context.ts). The process starts with a
 * large old generation, so a full collection — 10–30 ms, whose garbage any variant may have
 * left — rarely falls in a batch and moves one difference by ±20 µs; the young generation's
 * collections, where a request's garbage goes, count in the batch that made it.
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
import { createTracing, type Tracing } from "../regional/observability/tracing.ts";
import { samplerOf } from "../regional/observability/trace-settings.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { createTestApp, postJson, type TestApp } from "../test/support/regional-app.ts";
import type { Provider } from "../regional/providers/types.ts";
import { formatMicro, type MicroResult } from "./micro.ts";
import { percentile } from "./stats.ts";

export interface ObservabilityOptions {
  /** Requests per batch. */
  requests?: number;
  /** Rounds: a measured batch of every variant each. */
  rounds?: number;
}

/** Each part on its own, all of them (traces of every request, or of one in ten), and none. */
const parts = {
  off: {},
  metrics: { metrics: true },
  tracing: { traces: 1 },
  "tracing (1 in 10)": { traces: 0.1 },
  "access log": { accessLog: true },
  all: { metrics: true, traces: 1, accessLog: true },
  "all (traces 1 in 10)": { metrics: true, traces: 0.1, accessLog: true },
} satisfies Record<string, { metrics?: true; traces?: number; accessLog?: true }>;
type Variant = keyof typeof parts;
const variants = Object.keys(parts) as Variant[];

/** CPU µs a request each variant added over "off", per round. */
type Added = Record<Variant, number[]>;

export async function observabilityFigures(options: ObservabilityOptions = {}): Promise<MicroResult[]> {
  const cluster = await startPostgres({ database: "observability_bench" });
  const sink = await startOtlpSink();
  try {
    const { off, added } = await inChild(cluster.primaryUrl, sink.url, options);
    if (sink.spans() === 0) throw new Error("the OTLP sink received no spans: tracing was not on");
    const median = (variant: Variant) =>
      percentile(
        [...added[variant]].sort((a, b) => a - b),
        0.5,
      );
    return [
      { id: "chat in process, observability off (CPU µs/request)", value: off, unit: "µs/op" },
      ...variants
        .filter((variant) => variant !== "off" && !variant.startsWith("all"))
        .map((variant): MicroResult => ({
          id: `observability: ${variant} alone (added CPU µs/request)`,
          value: median(variant),
          unit: "µs/op",
        })),
      {
        id: "observability: metrics + tracing (OTLP) + access log (added CPU µs/request)",
        value: median("all"),
        unit: "µs/op",
        aim: { op: "≤", value: 20 },
      },
      {
        id: "observability: the same, traces sampled 1 in 10 (added CPU µs/request)",
        value: median("all (traces 1 in 10)"),
        unit: "µs/op",
        aim: { op: "≤", value: 20 },
      },
    ];
  } finally {
    await sink.close();
    await cluster.stop();
  }
}

/** The measurement in a fresh process, away from whatever else the bench ran before. */
function inChild(databaseUrl: string, sinkUrl: string, options: ObservabilityOptions): Promise<{ off: number; added: Added }> {
  const args = [
    "--initial-old-space-size=2048",
    "--import",
    "tsx",
    fileURLToPath(import.meta.url),
    "--database",
    databaseUrl,
    "--sink",
    sinkUrl,
  ];
  args.push("--requests", String(options.requests ?? 10_000), "--rounds", String(options.rounds ?? 8));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: fileURLToPath(new URL("..", import.meta.url)) }, (error, stdout, stderr) => {
      const line = /^figures (.+)$/m.exec(stdout)?.[1];
      if (error || line === undefined) reject(new Error(`observability measurement failed: ${error?.message ?? ""}\n${stderr}`));
      else resolve(JSON.parse(line) as { off: number; added: Added });
    });
  });
}

interface Measured {
  variant: Variant;
  app: TestApp;
  tracing: Tracing | undefined;
  logLines: string[];
}

/** The app with `variant` on. */
async function appWith(variant: Variant, databaseUrl: string, sinkUrl: string): Promise<Measured> {
  const on: { metrics?: true; traces?: number; accessLog?: true } = parts[variant];
  const tracing =
    on.traces === undefined
      ? undefined
      : createTracing({
          exporter: new OTLPTraceExporter({ url: `${sinkUrl}/v1/traces` }),
          serviceName: "bench",
          ...(on.traces < 1 && { sampler: samplerOf("parentbased_traceidratio", on.traces) }),
        });
  const logLines: string[] = [];
  const app = await createTestApp(databaseUrl, {
    providers: [instantProvider()],
    keyCacheTtlMs: 600_000,
    ...(on.metrics && { metrics: createMetrics() }),
    ...(tracing && { tracer: tracing.tracer }),
    ...(on.accessLog && { logLines }),
  });
  return { variant, app, tracing, logLines };
}

/** The child's part: every variant warmed up, then `rounds` rounds of a batch each. */
async function measureAll(
  databaseUrl: string,
  sinkUrl: string,
  requests: number,
  rounds: number,
  only: readonly Variant[] = variants,
): Promise<{ off: number; added: Added }> {
  const apps: Measured[] = [];
  for (const variant of only) apps.push(await appWith(variant, databaseUrl, sinkUrl));
  try {
    for (const measured of apps) await batchUs(measured, requests);
    const offs: number[] = [];
    const added = Object.fromEntries(variants.map((variant) => [variant, [] as number[]])) as Added;
    for (let round = 0; round < rounds; round++) {
      // Rotated, so no variant always runs right after the same other one.
      const order = apps.map((_, at) => apps[(at + round) % apps.length] as Measured);
      const us = new Map<Variant, number>();
      for (const measured of order) us.set(measured.variant, await batchUs(measured, requests));
      const off = us.get("off") ?? 0;
      offs.push(off);
      for (const variant of only) added[variant].push((us.get(variant) ?? 0) - off);
    }
    return {
      off: percentile(
        offs.sort((a, b) => a - b),
        0.5,
      ),
      added,
    };
  } finally {
    for (const { app, tracing } of apps) {
      await app.close();
      await tracing?.shutdown();
    }
  }
}

/**
 * This process's mean CPU time (user + system) over `requests` sequential non-stream chats
 * through the app, the export of the spans they made included.
 */
async function batchUs({ app: t, tracing, logLines }: Measured, requests: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    // In process, with a provider that answers at once, no request waits on I/O: without a turn
    // of the event loop now and then, the span exporter's posts would wait for the batch's end,
    // pile past its limit of concurrent exports and drop spans unserialized (uncounted work).
    if (i % 32 === 0) await new Promise(setImmediate);
    const body = { model: "stub/m", messages: [{ role: "user", content: `hi ${i}` }] };
    const response = await t.app.request(postJson("/v1/chat/completions", body, t.apiKey));
    if (response.status !== 200) throw new Error(`chat answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  await tracing?.flush();
  const used = process.cpuUsage(started);
  logLines.length = 0;
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
      database: { type: "string" },
      sink: { type: "string" },
      requests: { type: "string" },
      rounds: { type: "string" },
      // Some of the variants only (comma-separated), to look at one closely: `--only off,tracing`.
      only: { type: "string" },
    },
  });
  const only = values.only?.split(",");
  if (only?.some((name) => !(name in parts))) throw new Error(`--only takes ${variants.join(", ")}`);
  if (values.database && values.sink) {
    const figures = await measureAll(
      values.database,
      values.sink,
      Number(values.requests ?? 10_000),
      Number(values.rounds ?? 8),
      only as Variant[] | undefined,
    );
    process.stdout.write(`figures ${JSON.stringify(figures)}\n`);
  } else console.log(formatMicro(await observabilityFigures()));
}
