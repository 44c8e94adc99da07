/**
 * What the regional service as production runs it (`npm run build`, then plain
 * `node dist/regional/main.js`) holds in memory (issue 19: idle ≤ 100 MiB with Postgres,
 * ≤ 250 MiB with 1,000 open streams, the gateway process itself ≤ 150 MiB with the embedded
 * default): resident memory once idle, and its peak while 1,000 streams are open at once
 * against a mock upstream that sends a chunk every `chunkIntervalMs` (so every stream stays
 * open for seconds). Also how many of them ended whole (`[DONE]`): a stall would count.
 *
 * Measured on the embedded default, which is the production process in all that matters
 * here: the database runs in a process of its own (not counted) that the gateway reaches over
 * a socket with the same driver and pool as a Postgres server. (With `DATABASE_URL` set the
 * service takes only calls the edge signed, which this client does not make.)
 *
 * `npm run bench` calls `streamMemoryFigures`; `tsx bench/stream-memory.ts` runs it alone.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatMicro, type MicroResult } from "./micro.ts";
import { freePort, startProcess, stopAll, waitForHttpOk, type ManagedProcess } from "./processes.ts";
import { benchApiKey, startMockUpstream } from "./services.ts";

export interface StreamMemoryOptions {
  root: string;
  /** Scratch space for the embedded database; the caller removes it. */
  workDir: string;
  streams?: number;
  /** Between the upstream's chunks: seven chunks, so a stream stays open about six times this. */
  chunkIntervalMs?: number;
}

interface Variant {
  idleMiB: number;
  peakMiB: number;
  whole: number;
}

export async function streamMemoryFigures(options: StreamMemoryOptions): Promise<MicroResult[]> {
  const built = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "regional"], { cwd: options.root, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const streams = options.streams ?? 1_000;
  const upstream = await startMockUpstream(options.root, 0, options.chunkIntervalMs ?? 1_000);
  try {
    const figures = await measure(options, upstream.origin, streams);
    return [
      { id: "built regional: gateway process resident memory idle", value: figures.idleMiB, unit: "MiB", aim: { op: "≤", value: 100 } },
      {
        id: `built regional: gateway process peak resident memory with ${streams} open streams`,
        value: figures.peakMiB,
        unit: "MiB",
        aim: { op: "≤", value: 250 },
      },
      { id: `built regional: of ${streams} concurrent streams, ended whole`, value: figures.whole, unit: "streams" },
    ];
  } finally {
    await upstream.process.stop();
  }
}

async function measure(options: StreamMemoryOptions, upstreamOrigin: string, streams: number): Promise<Variant> {
  const port = await freePort();
  const apiKey = benchApiKey();
  const { DATABASE_URL: _, ...inherited } = process.env;
  const managed = startProcess({
    name: "built regional",
    command: process.execPath,
    args: ["dist/regional/main.js"],
    cwd: options.root,
    env: {
      ...inherited,
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: join(options.workDir, `data-${port}`),
      BREAKWATER_DEV_KEY: apiKey,
      OPENAI_API_KEY: "bench-upstream-key",
      OPENAI_BASE_URL: `${upstreamOrigin}/v1`,
      OPENAI_MODELS: "bench-model",
      LOG_LEVEL: "warn",
      BREAKWATER_DEV_RPM: "1000000000",
      BREAKWATER_DEV_TPM: "1000000000",
    },
  });
  try {
    const origin = `http://127.0.0.1:${port}`;
    await waitForHttpOk(`${origin}/health/ready`, managed, 120_000);
    await waitForHttpOk(`${origin}/v1/models`, managed, 30_000, { authorization: `Bearer ${apiKey}` });
    await delay(3_000);
    const idleMiB = await residentMiB(managed);
    let peakMiB = idleMiB;
    let open = true;
    const sampling = (async () => {
      while (open) {
        peakMiB = Math.max(peakMiB, await residentMiB(managed));
        await delay(100);
      }
    })();
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const outcomes = await Promise.all(
      Array.from({ length: streams }, (_, i) => oneStream(`${origin}/v1/chat/completions`, apiKey, agent, i)),
    );
    open = false;
    await sampling;
    agent.destroy();
    return { idleMiB, peakMiB, whole: outcomes.filter(Boolean).length };
  } finally {
    await managed.stop();
  }
}

async function residentMiB(managed: ManagedProcess): Promise<number> {
  const status = await readFile(`/proc/${managed.child.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** One streamed chat, read to its end: true when it ended with `[DONE]`. */
function oneStream(url: string, apiKey: string, agent: Agent, i: number): Promise<boolean> {
  const body = JSON.stringify({ model: "openai/bench-model", stream: true, messages: [{ role: "user", content: `stream ${i}` }] });
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let tail = "";
        res.setEncoding("utf8");
        res.on("data", (text: string) => (tail = (tail + text).slice(-64)));
        res.on("end", () => resolve(res.statusCode === 200 && tail.includes("data: [DONE]")));
        res.on("error", () => resolve(false));
      },
    );
    req.on("error", () => resolve(false));
    req.end(body);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const workDir = await mkdtemp(join(tmpdir(), "bw-stream-memory-"));
  try {
    console.log(formatMicro(await streamMemoryFigures({ root: fileURLToPath(new URL("..", import.meta.url)), workDir })));
  } finally {
    await stopAll();
    await rm(workDir, { recursive: true, force: true });
  }
}
