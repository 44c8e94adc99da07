import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createKey, edgeFetchWith, errorBody } from "./harness.ts";

/** An origin name of its own, so no other test meets the breaker this test's failures count against. */
const fresh = (url: string) => `bounded-${crypto.randomUUID().slice(0, 8)}=${url}`;
const live = env.REGIONAL_ORIGIN ?? "";

describe("bodies the edge reads from an origin", () => {
  it("reads at most 64 KiB of a chunked 5xx that never ends, and hands the answer on at once", async () => {
    const started = Date.now();
    const res = await edgeFetchWith({ REGIONAL_ORIGINS: fresh(live), ORIGIN_TIMEOUT_MS: "3000" }, "/v1/endless-error", { method: "GET" });

    // The origin's own answer, not the deadline's 504.
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_500);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^\{"error":\{"code":"unavailable"/);
    await reader.cancel();
  });

  it("refuses a key record that never ends instead of waiting on it", async () => {
    const { key } = await createKey();
    const res = await edgeFetchWith(
      { REGIONAL_ORIGINS: fresh(live), ORIGIN_TIMEOUT_MS: "3000" },
      "/v1/echo",
      { headers: { "x-request-id": "endless-key-record" } },
      key,
    );

    expect(res.status).toBe(503);
    expect((await errorBody(res)).error.code).toBe("unavailable");
  });
});
