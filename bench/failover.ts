/**
 * Losing a region under load, through `wrangler dev`: two regional processes (embedded
 * PGlite each, mock provider, the same dev key and signing secret) behind one edge with
 * `REGIONAL_ORIGINS="east=… west=…"`. A few clients send chat requests back to back; one
 * second in, `east` is SIGKILLed. Reports the time from the kill to the first answer from
 * `west`, and how many requests failed (only those in flight to `east` may).
 *
 * `npm run bench` may call `failoverScenario`; `tsx bench/failover.ts` runs it alone.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startRegional, startWrangler } from "./edge-auth.ts";
import type { MicroResult } from "./micro.ts";
import type { ManagedProcess } from "./processes.ts";
import { requestWhole } from "./whole-request.ts";

export interface FailoverOptions {
  /** The repository root. */
  root: string;
  /** Scratch space for PGlite and wrangler state; the caller removes it. */
  workDir: string;
  /** Clients sending back to back (default 4). */
  clients?: number;
  /** Load before the kill and after it, in ms (default 1,000 and 2,000). */
  beforeMs?: number;
  afterMs?: number;
}

export interface FailoverResult {
  /** From the SIGKILL to the first answer served by the surviving origin. */
  failoverMs: number;
  requests: number;
  /** Requests that did not get a 200. */
  failed: number;
  /** Of those, how many had been sent before the kill (in flight to the dead origin). */
  failedInFlight: number;
  firstFailure?: string;
}

const chatBody = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "Are you still there?" }], max_tokens: 16 });

interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number;
  origin: string | undefined;
  detail: string;
}

export async function failoverScenario(options: FailoverOptions): Promise<FailoverResult> {
  const secret = randomBytes(32).toString("base64url");
  const apiKey = `bw_bench_${randomBytes(18).toString("base64url").slice(0, 24)}`;
  const started: ManagedProcess[] = [];
  try {
    const east = await startRegional({ root: options.root, workDir: dir(options.workDir, "east") }, secret, apiKey);
    started.push(east.process);
    const west = await startRegional({ root: options.root, workDir: dir(options.workDir, "west") }, secret, apiKey);
    started.push(west.process);
    const edge = await startWrangler(
      { root: options.root, workDir: dir(options.workDir, "edge") },
      "edge (two origins)",
      join(options.root, "wrangler.toml"),
      {
        REGIONAL_ORIGINS: `east=${east.origin} west=${west.origin}`,
        EDGE_SIGNING_SECRET: secret,
      },
    );
    started.push(edge.process);
    return await measure(`${edge.origin}/v1/chat/completions`, apiKey, east.process, options);
  } finally {
    for (const managed of started.reverse()) await managed.stop();
  }
}

async function measure(url: string, apiKey: string, victim: ManagedProcess, options: FailoverOptions): Promise<FailoverResult> {
  const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const agent = new Agent({ keepAlive: true });
  const outcomes: Outcome[] = [];
  let stopAt = Number.POSITIVE_INFINITY;
  try {
    for (let i = 0; i < 50; i++) {
      const warm = await post(agent, url, headers);
      if (warm.status !== 200 || warm.origin !== "east")
        throw new Error(`warm-up answered ${warm.status} from ${warm.origin}: ${warm.detail}`);
    }
    const clients = Array.from({ length: options.clients ?? 4 }, async () => {
      while (performance.now() < stopAt) outcomes.push(await post(agent, url, headers));
    });
    await delay(options.beforeMs ?? 1_000);
    const killedAt = performance.now();
    if (victim.child.pid) process.kill(-victim.child.pid, "SIGKILL");
    stopAt = killedAt + (options.afterMs ?? 2_000);
    await Promise.all(clients);

    const survivor = outcomes
      .filter((outcome) => outcome.origin === "west" && outcome.status === 200)
      .sort((a, b) => a.endedAt - b.endedAt)[0];
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    return {
      failoverMs: survivor ? survivor.endedAt - killedAt : Number.NaN,
      requests: outcomes.length,
      failed: failed.length,
      failedInFlight: failed.filter((outcome) => outcome.startedAt < killedAt).length,
      ...(failed[0] ? { firstFailure: `status ${failed[0].status}: ${failed[0].detail}` } : {}),
    };
  } finally {
    agent.destroy();
  }
}

function dir(parent: string, name: string): string {
  const path = join(parent, name);
  mkdirSync(path, { recursive: true });
  return path;
}

async function post(agent: Agent, url: string, headers: Record<string, string>): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const answer = await requestWhole(agent, "POST", url, headers, chatBody);
    const origin = answer.headers["x-breakwater-origin"];
    return {
      startedAt: answer.startedAt,
      endedAt: answer.endedAt,
      status: answer.status,
      origin: typeof origin === "string" ? origin : undefined,
      detail: answer.body.slice(0, 300),
    };
  } catch (error) {
    return {
      startedAt,
      endedAt: performance.now(),
      status: 0,
      origin: undefined,
      detail: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The figure for the bench's micro table: failover must complete in under a second. */
export function failoverFigure(result: FailoverResult): MicroResult {
  return { id: "origin failover, kill → survivor answers", value: result.failoverMs, unit: "ms/op", aim: { op: "≤", value: 1_000 } };
}

export function formatFailover(result: FailoverResult): string {
  return [
    `origin failover: first answer from the survivor ${result.failoverMs.toFixed(1)} ms after the kill (aim < 1000 ms)`,
    `${result.requests} requests, ${result.failed} failed (${result.failedInFlight} of them in flight at the kill)${result.firstFailure ? `; first: ${result.firstFailure}` : ""}`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const workDir = mkdtempSync(join(tmpdir(), "breakwater-bench-failover-"));
  try {
    process.stdout.write(`${formatFailover(await failoverScenario({ root, workDir }))}\n`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
