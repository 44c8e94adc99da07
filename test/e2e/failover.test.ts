import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";

/**
 * Losing a whole region: two regional instances behind one `wrangler dev`, a steady
 * stream of requests, and the first origin SIGKILLed mid-run.
 */

const devKey = "bw_e2eFailoverKey0123456789abcdef";
const metricsKey = "e2e-failover-metrics-key-0123456789abcdef";
let database: TestDatabase;
let east: RunningProcess;
let west: RunningProcess;
let edge: RunningProcess;

beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  const common = {
    DATABASE_URL: database.url,
    BREAKWATER_DEV_KEY: devKey,
    BREAKWATER_DEV_RPM: "1000000",
    BREAKWATER_DEV_TPM: "1000000000",
  };
  // One after the other: the first creates the dev tenant and key, the second finds them.
  east = await startRegional({ ...common, REGION: "east" });
  west = await startRegional({ ...common, REGION: "west" });
  edge = await startEdge({ REGIONAL_ORIGINS: `east=${east.url} west=${west.url}`, METRICS_API_KEY: metricsKey });
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await west?.stop();
  await east?.stop("SIGKILL");
  await database?.drop();
});

interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number;
  origin: string | null;
  error?: string;
}

async function chat(): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const res = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "still there?" }] }),
    });
    const text = await res.text();
    return {
      startedAt,
      endedAt: performance.now(),
      status: res.status,
      origin: res.headers.get("x-breakwater-origin"),
      error: res.ok ? undefined : text.slice(0, 300),
    };
  } catch (error) {
    return { startedAt, endedAt: performance.now(), status: 0, origin: null, error: String(error) };
  }
}

/** `workers` clients, each sending one request after the other until `until()` says stop. */
async function steadyStream(workers: number, until: () => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until()) outcomes.push(await chat());
    }),
  );
  return outcomes;
}

describe("losing a regional origin mid-run", () => {
  it("fails no request but those in flight to it, and moves traffic to the survivor", async () => {
    const warm = await chat();
    expect(warm).toMatchObject({ status: 200, origin: "east" });

    let killedAt = Number.POSITIVE_INFINITY;
    let stopAt = Number.POSITIVE_INFINITY;
    const running = steadyStream(4, () => performance.now() >= stopAt);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    killedAt = performance.now();
    await east.stop("SIGKILL");
    const killConfirmedAt = performance.now();
    // Long enough for the key cache (5 s in the location's Cache API) to need the survivor too.
    stopAt = killConfirmedAt + 7_000;
    const outcomes = await running;

    const before = outcomes.filter((outcome) => outcome.endedAt < killedAt);
    const inFlight = outcomes.filter((outcome) => outcome.startedAt < killConfirmedAt && outcome.endedAt >= killedAt);
    const after = outcomes.filter((outcome) => outcome.startedAt >= killConfirmedAt);
    const failed = outcomes.filter((outcome) => outcome.status !== 200);
    const firstOnSurvivor = outcomes
      .filter((outcome) => outcome.origin === "west" && outcome.endedAt >= killedAt)
      .sort((x, y) => x.endedAt - y.endedAt)[0];
    const failoverMs = firstOnSurvivor ? firstOnSurvivor.endedAt - killedAt : Number.NaN;
    console.log(
      `failover: ${outcomes.length} requests (${before.length} before the kill, ${inFlight.length} in flight, ${after.length} after); ` +
        `${failed.length} failed; first answer from the survivor ${failoverMs.toFixed(1)} ms after the kill`,
    );

    expect(before.length).toBeGreaterThan(0);
    expect(before.every((outcome) => outcome.status === 200 && outcome.origin === "east")).toBe(true);
    // Only a request that was on its way to the dead origin may fail.
    expect(failed.filter((outcome) => !inFlight.includes(outcome))).toEqual([]);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((outcome) => outcome.status === 200 && outcome.origin === "west")).toBe(true);
    // A generous sanity bound, not a performance assertion (the bench measures that).
    expect(failoverMs).toBeLessThan(10_000);

    const health = await fetch(`${edge.url}/health/detailed`, { headers: { authorization: `Bearer ${metricsKey}` } });
    const body = (await health.json()) as { status: string; origins: { name: string; breaker: string }[] };
    // The public one says as much in a word, and names no origin.
    expect(await (await fetch(`${edge.url}/health`)).json()).toEqual({ status: "degraded" });
    expect(body.status).toBe("degraded");
    expect(body.origins.map((origin) => origin.name)).toEqual(["east", "west"]);
    // Open, or half-open for the instant a probe is on its way to the dead origin.
    expect(["open", "half_open"]).toContain(body.origins[0]?.breaker);
    expect(body.origins[1]?.breaker).toBe("closed");
  }, 60_000);
});
