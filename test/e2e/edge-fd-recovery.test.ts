import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../infra/free-port.ts";
import { commandOf, descendants } from "../support/process-tree.ts";

/**
 * `npm start` (scripts/start.ts) as a newcomer runs it, its edge's workerd processes held to
 * 256 file descriptors, then a burst of slow requests that needs far more: workerd dies of
 * "Too many open files", and wrangler dev's proxy would hold every later request forever.
 * The edge recovers by itself once the burst is over — a normal request succeeds again.
 */

const devKey = "bw_e2eFdRecoveryKey0123456789abcd";
const burst = 400;
let dataDir: string;
let start: ChildProcess;
let edgeOrigin: string;
const output: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "bw-fd-recovery-"));
  const [regionalPort, edgePort] = await freePorts(2);
  edgeOrigin = `http://127.0.0.1:${edgePort}`;
  const { DATABASE_URL: _, EDGE_SIGNING_SECRET: __, ...inherited } = process.env;
  start = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    env: {
      ...inherited,
      PORT: String(regionalPort),
      EDGE_PORT: String(edgePort),
      DATA_DIR: dataDir,
      BREAKWATER_DEV_KEY: devKey,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [start.stdout, start.stderr]) if (stream) createInterface({ input: stream }).on("line", (line) => output.push(line));
  await until(() => output.some((line) => line.startsWith("Breakwater is up")), 150_000, "npm start to be up");
}, 180_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    const exited = new Promise((resolve) => start.once("exit", resolve));
    start.kill("SIGTERM");
    await exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe("npm start after the edge ran out of file descriptors", () => {
  it("restarts the edge by itself, and answers again once the burst is over", async () => {
    expect(await chat()).toBe(200);
    const workerds = descendants(start.pid ?? 0).filter((pid) => commandOf(pid) === "workerd");
    expect(workerds.length).toBeGreaterThan(0);
    for (const pid of workerds) expect(spawnSync("prlimit", ["--pid", String(pid), "--nofile=256:256"]).status).toBe(0);

    // Each request stays in flight for seconds, holding its connections at the edge.
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const answers = Promise.all(Array.from({ length: burst }, () => chat({ agent, fault: "latency=4000", timeoutMs: 20_000 })));
    await until(() => workerds.some((pid) => !existsSync(`/proc/${pid}`)), 30_000, "a workerd to run out of descriptors");
    await answers;
    agent.destroy();

    await until(() => output.some((line) => line.includes("restarting wrangler dev")), 60_000, "the watchdog to restart the edge");
    const deadline = Date.now() + 90_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) status = await chat({ timeoutMs: 5_000 });
    expect(status, output.slice(-40).join("\n")).toBe(200);
  }, 240_000);
});

/** One chat through the edge: its status, or 0 when it failed or took longer than `timeoutMs`. */
function chat(options: { agent?: Agent; fault?: string; timeoutMs?: number } = {}): Promise<number> {
  const body = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "fd recovery" }] });
  return new Promise((resolve) => {
    const req = request(
      `${edgeOrigin}/v1/chat/completions`,
      {
        method: "POST",
        agent: options.agent,
        timeout: options.timeoutMs ?? 10_000,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          authorization: `Bearer ${devKey}`,
          ...(options.fault && { "x-mock-fault": options.fault }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; npm start said:\n${output.slice(-30).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
