import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";

/**
 * A regional process killed while it streams: the edge (real `wrangler dev`) ends its
 * client's stream with the error event the regional tier would have sent, not a bare
 * transport error.
 */

const devKey = "bw_e2eBrokenStreamKey0123456789ab";
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
  });
  edge = await startEdge({ REGIONAL_ORIGIN: regional.url });
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await regional?.stop("SIGKILL");
  await database?.drop();
});

describe("a regional origin killed mid-stream", () => {
  it("ends the edge client's stream with the error event and no [DONE]", async () => {
    const res = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      // The mock provider sends one piece of content, then holds the stream open.
      headers: {
        authorization: `Bearer ${devKey}`,
        "content-type": "application/json",
        "x-mock-fault": "stall-after=1",
        "x-request-id": "client-req:killed-mid-stream",
      },
      body: JSON.stringify({ model: "mock/echo", stream: true, messages: [{ role: "user", content: "keep talking" }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/"content":"[^"]+"/.test(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended before any content: ${text}`);
      text += value;
    }

    await regional.stop("SIGKILL");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;

    expect(text).not.toContain("[DONE]");
    const last = text.trimEnd().split("\n\n").at(-1) ?? "";
    expect(JSON.parse(last.replace(/^data: /, ""))).toEqual({
      error: {
        message: "The regional origin failed mid-stream.",
        type: "upstream_error",
        code: "upstream_error",
        param: null,
        request_id: "client-req:killed-mid-stream",
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
  }, 30_000);
});
