/**
 * Many concurrent streams on one provider: a route `primary → secondary` (two mock
 * OpenAI-compatible upstreams, each its own process, streaming six chunks 20 ms apart) and
 * 512 streams opened at once against the regional process. Before socket pools were set
 * per provider, half of them waited for one of 256 sockets, were charged a first-byte
 * timeout and fell back. Reports how many the primary served, how many fell back or
 * stalled, and the time to the first content token.
 *
 * `npm run bench` calls `manyStreamsScenario`; `tsx bench/many-streams.ts` runs it alone.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { percentile } from "./stats.ts";
import { stopAll } from "./processes.ts";
import { benchApiKey, startMockUpstream, startRegional } from "./services.ts";
import type { MicroResult } from "./micro.ts";

export interface ManyStreamsOptions {
  root: string;
  /** Scratch space for PGlite and the routes file; the caller removes it. */
  workDir: string;
  streams?: number;
  /** A stream not finished by then counts as stalled. */
  stallMs?: number;
}

export interface ManyStreamsResult {
  streams: number;
  servedByPrimary: number;
  fellBack: number;
  /** Streams that did not end with `[DONE]` in time, or failed. */
  stalled: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
}

interface StreamOutcome {
  provider: string | null;
  ttftMs: number | null;
  done: boolean;
}

export async function manyStreamsScenario(options: ManyStreamsOptions): Promise<ManyStreamsResult> {
  const streams = options.streams ?? 512;
  const stallMs = options.stallMs ?? 30_000;
  mkdirSync(options.workDir, { recursive: true });
  try {
    const [primary, secondary] = await Promise.all([startMockUpstream(options.root, 2, 20), startMockUpstream(options.root, 2, 20)]);
    const provider = (origin: string) => ({
      type: "openai",
      baseUrl: `${origin}/v1`,
      apiKey: "env:BENCH_UPSTREAM_KEY",
      models: ["bench-model"],
    });
    const routesFile = join(options.workDir, "routes.json");
    writeFileSync(
      routesFile,
      JSON.stringify({
        providers: { primary: provider(primary.origin), secondary: provider(secondary.origin) },
        routes: {
          "bench-chain": {
            targets: [
              { provider: "primary", model: "bench-model" },
              { provider: "secondary", model: "bench-model" },
            ],
          },
        },
      }),
    );
    const apiKey = benchApiKey();
    const regional = await startRegional({
      root: options.root,
      upstreamOrigin: primary.origin,
      dataDir: join(options.workDir, "data"),
      apiKey,
      env: { ROUTES_FILE: routesFile, BENCH_UPSTREAM_KEY: "bench-upstream-key" },
    });
    const body = JSON.stringify({ model: "bench-chain", messages: [{ role: "user", content: "stream to me" }], stream: true });
    const open = async (): Promise<StreamOutcome> => {
      const started = performance.now();
      try {
        const response = await fetch(`${regional.origin}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(stallMs),
        });
        const provider = response.headers.get("x-breakwater-provider");
        let ttftMs: number | null = null;
        let text = "";
        const decoder = new TextDecoder();
        for await (const part of response.body ?? []) {
          text += decoder.decode(part, { stream: true });
          if (ttftMs === null && text.includes('"content":"')) ttftMs = performance.now() - started;
        }
        return { provider, ttftMs, done: text.includes("data: [DONE]") };
      } catch {
        return { provider: null, ttftMs: null, done: false };
      }
    };
    const outcomes = await Promise.all(Array.from({ length: streams }, open));
    const ttfts = outcomes.flatMap((outcome) => (outcome.ttftMs === null ? [] : [outcome.ttftMs])).sort((a, b) => a - b);
    return {
      streams,
      servedByPrimary: outcomes.filter((outcome) => outcome.provider === "primary" && outcome.done).length,
      fellBack: outcomes.filter((outcome) => outcome.provider !== null && outcome.provider !== "primary").length,
      stalled: outcomes.filter((outcome) => !outcome.done).length,
      ttftP50Ms: percentile(ttfts, 0.5),
      ttftP99Ms: percentile(ttfts, 0.99),
    };
  } finally {
    await stopAll();
  }
}

export function formatManyStreams(result: ManyStreamsResult): string {
  return `${result.streams} concurrent streams: ${result.servedByPrimary} served by the primary, ${result.fellBack} fell back, ${result.stalled} stalled; time to first token p50 ${result.ttftP50Ms.toFixed(1)} ms, p99 ${result.ttftP99Ms.toFixed(1)} ms`;
}

export function manyStreamsFigures(result: ManyStreamsResult): MicroResult[] {
  return [
    {
      id: `${result.streams} streams on one provider: served by the primary`,
      value: result.servedByPrimary,
      unit: "streams",
      aim: { op: "≥", value: result.streams },
    },
    { id: `${result.streams} streams on one provider: stalled`, value: result.stalled, unit: "streams", aim: { op: "≤", value: 0 } },
    { id: `${result.streams} streams on one provider: first token p99`, value: result.ttftP99Ms, unit: "ms/op" },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const workDir = mkdtempSync(join(tmpdir(), "breakwater-streams-"));
  try {
    const result = await manyStreamsScenario({ root: fileURLToPath(new URL("..", import.meta.url)), workDir });
    process.stdout.write(`${formatManyStreams(result)}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
