import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { malformedChunkCounts, recordMalformedChunk } from "../../regional/providers/stream-stats.ts";
import { createTestApp, detailedHealth, testAdminKey, type TestApp } from "../support/regional-app.ts";

// The tally is process-wide: each test uses provider names of its own.
describe("skipped stream chunks", () => {
  it("are counted per provider", () => {
    recordMalformedChunk("stats-a");
    recordMalformedChunk("stats-a");
    recordMalformedChunk("stats-b");
    expect(malformedChunkCounts()).toMatchObject({ "stats-a": 2, "stats-b": 1 });
  });

  describe("in /health/detailed", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(inject("primaryUrl"), { adminKey: testAdminKey });
    });
    afterAll(async () => t?.close());

    it("are listed by provider", async () => {
      recordMalformedChunk("stats-health");
      const response = await detailedHealth(t);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { malformed_stream_chunks: Record<string, number> };
      expect(body.malformed_stream_chunks).toMatchObject({ "stats-health": 1 });
    });
  });
});
