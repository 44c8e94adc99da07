import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { summarize, type LatencySummary } from "./stats.ts";
import { chatBody, type Target } from "./target.ts";

/**
 * Sequential requests over one keep-alive connection, timed with `performance.now()`.
 * autocannon's histogram has whole-millisecond resolution; the single-connection figures
 * need sub-millisecond differences to be visible, so they are measured here.
 */
export interface SequentialResult {
  latency: LatencySummary;
  requests: number;
  reqPerSec: number;
  failures: number;
  firstFailure?: string;
}

interface Timing {
  status: number;
  firstByteMs: number;
  totalMs: number;
  body: string;
}

let nonceCounter = 0;
const nextNonce = (): string => `${process.pid}-${++nonceCounter}`;

/** Non-stream chat completions, back to back, for `durationS` after `warmupS`; the figure is the full response time. */
export async function sequentialChat(target: Target, durationS: number, warmupS: number): Promise<SequentialResult> {
  return await withAgent(async (agent) => {
    const send = (): Promise<Timing> => timedRequest(agent, target, chatBody(target.model, nextNonce(), false), false);
    await repeat(send, untilElapsed(warmupS));
    const started = performance.now();
    const timings = await repeat(send, untilElapsed(durationS));
    return toResult(timings, (timing) => timing.totalMs, performance.now() - started);
  });
}

/** Streamed chat completions, one at a time; the figure is the time to the first body byte. */
export async function streamTtfb(target: Target, requests: number): Promise<SequentialResult> {
  return await withAgent(async (agent) => {
    const send = (): Promise<Timing> => timedRequest(agent, target, chatBody(target.model, nextNonce(), true), false);
    await repeat(send, times(Math.max(5, Math.ceil(requests / 10))));
    const started = performance.now();
    const timings = await repeat(send, times(requests));
    return toResult(timings, (timing) => timing.firstByteMs, performance.now() - started);
  });
}

async function withAgent<T>(use: (agent: Agent) => Promise<T>): Promise<T> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await use(agent);
  } finally {
    agent.destroy();
  }
}

async function repeat(send: () => Promise<Timing>, more: () => boolean): Promise<Timing[]> {
  const timings: Timing[] = [];
  while (more()) timings.push(await send());
  return timings;
}

function untilElapsed(seconds: number): () => boolean {
  const end = performance.now() + seconds * 1000;
  return () => performance.now() < end;
}

function times(count: number): () => boolean {
  let left = count;
  return () => left-- > 0;
}

/**
 * One non-stream and one stream request that must succeed with the expected shape, so a
 * misconfigured path fails loudly instead of benchmarking error responses.
 */
export async function checkTarget(target: Target): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const plain = await timedRequest(agent, target, chatBody(target.model, nextNonce(), false), true);
    if (plain.status !== 200 || !plain.body.includes('"chat.completion"')) {
      throw new Error(`${target.path}: chat completion answered ${plain.status}: ${plain.body.slice(0, 500)}`);
    }
    const streamed = await timedRequest(agent, target, chatBody(target.model, nextNonce(), true), true);
    if (streamed.status !== 200 || !streamed.body.includes("chat.completion.chunk") || !streamed.body.includes("[DONE]")) {
      throw new Error(`${target.path}: streamed chat completion answered ${streamed.status}: ${streamed.body.slice(0, 500)}`);
    }
  } finally {
    agent.destroy();
  }
}

function toResult(timings: Timing[], figure: (timing: Timing) => number, elapsedMs: number): SequentialResult {
  const ok = timings.filter((timing) => timing.status === 200);
  const failed = timings.find((timing) => timing.status !== 200);
  return {
    latency: summarize(ok.map(figure)),
    requests: timings.length,
    reqPerSec: elapsedMs > 0 ? (ok.length * 1000) / elapsedMs : 0,
    failures: timings.length - ok.length,
    ...(failed ? { firstFailure: `status ${failed.status}: ${failed.body.slice(0, 300)}` } : {}),
  };
}

function timedRequest(agent: Agent, target: Target, body: string, keepBody: boolean): Promise<Timing> {
  const url = new URL(target.url);
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        agent,
        method: "POST",
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { ...target.headers, "content-type": "application/json", "content-length": payload.length },
      },
      (res) => {
        let firstByteMs = Number.NaN;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - started;
          if (keepBody || res.statusCode !== 200) chunks.push(chunk);
        });
        res.on("end", () => {
          const totalMs = performance.now() - started;
          resolve({
            status: res.statusCode ?? 0,
            firstByteMs: Number.isNaN(firstByteMs) ? totalMs : firstByteMs,
            totalMs,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
