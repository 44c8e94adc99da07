import { Agent } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";
import { parseExposition } from "../support/prometheus-text.ts";
import { burstStream } from "../support/burst-stream.ts";

/**
 * Many streams through the edge (real `wrangler dev`, Upstash) at once, with a key no tier
 * in front of regional has cached yet, and a few clients that give up on stalled streams:
 * every other stream ends whole, the burst costs regional one key lookup instead of one per
 * stream (each also cost an Upstash read and write, and a connection of its own), and the
 * edge answers the next request once the burst is over.
 */

const devKey = "bw_e2eStreamBurstKey0123456789abc";
const adminKey = "stream-burst-admin-key-".padEnd(40, "x");
const upstash = { url: inject("upstashUrl"), token: inject("upstashToken") };
const streams = 200;
/** One in this many clients gives up on a stream that stalls after its first piece. */
const abandonEvery = 40;
let database: TestDatabase;
let regional: RunningProcess;
let edge: RunningProcess;

beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  regional = await startRegional({
    DATABASE_URL: database.url,
    BREAKWATER_DEV_KEY: devKey,
    BREAKWATER_DEV_RPM: "1000000",
    BREAKWATER_DEV_TPM: "1000000000",
    ADMIN_API_KEY: adminKey,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
  });
  edge = await startEdge({ REGIONAL_ORIGIN: regional.url, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token });
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await regional?.stop();
  await database?.drop();
});

/** Key-record lookups regional has answered, from its own metrics. */
async function keyLookups(): Promise<number> {
  const response = await fetch(`${regional.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(response.status).toBe(200);
  return parseExposition(await response.text())
    .samples.filter((sample) => sample.name === "breakwater_http_requests_total" && sample.labels.route?.startsWith("/internal/keys"))
    .reduce((total, sample) => total + sample.value, 0);
}

describe("a burst of concurrent streams through the edge", () => {
  it("ends every stream a client kept, looks a cold key up once, and answers the next request", async () => {
    const lookupsBefore = await keyLookups();
    const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    const outcomes = await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        burstStream({
          url: `${edge.url}/v1/chat/completions`,
          apiKey: devKey,
          agent,
          abandon: i % abandonEvery === abandonEvery - 1,
          firstTokenDelayMs: 500,
        }),
      ),
    );
    agent.destroy();

    const abandoned = streams / abandonEvery;
    expect(outcomes.filter((outcome) => outcome === "abandoned")).toHaveLength(abandoned);
    expect(outcomes.filter((outcome) => outcome !== "abandoned" && outcome !== "completed")).toEqual([]);
    // Every request of the burst missed the isolate's memory and Upstash; one lookup served them all.
    expect((await keyLookups()) - lookupsBefore).toBe(1);

    const next = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", stream: true, messages: [{ role: "user", content: "still there?" }] }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(next.status).toBe(200);
    expect(await next.text()).toContain("data: [DONE]");
  }, 60_000);
});
