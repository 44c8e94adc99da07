import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { estimateTokens, opaqueBodyEstimate } from "../../shared/token-estimate.ts";
import { createKey, edgeFetch, edgeFetchWith, errorBody } from "./harness.ts";

// Frozen time keeps the token buckets from refilling between a request and the count.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
});

async function tokensLeft(record: KeyRecord): Promise<number> {
  const result = await env.RATE_LIMITER.getByName(`key:${record.key_id}`).peek([
    { bucket: "tokens", limit: record.limits.tpm, periodMs: 60_000, cost: 0 },
  ]);
  return result.levels[0]!.remaining;
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function send(path: string, init: RequestInit, key: string) {
  const res = await edgeFetchWith({}, path, init, key);
  const text = await res.text();
  await res.settled();
  return { status: res.status, text };
}

describe("token estimates for the newer endpoints", () => {
  it("estimates /v1/responses from its input (a string or message items), instructions and max_output_tokens", () => {
    expect(estimateTokens("/v1/responses", { input: "12345678", max_output_tokens: 100 })).toEqual({ prompt: 2, total: 102 });
    const items = [{ role: "user", content: [{ type: "input_text", text: "12345678" }] }];
    expect(estimateTokens("/v1/responses", { input: items, instructions: "1234", max_output_tokens: 10 })).toEqual({
      prompt: 3 + 4,
      total: 17,
    });
    expect(estimateTokens("/v1/responses", { input: "hi" }, 400).total).toBe(1 + 400);
  });

  it("estimates /v1/completions from its prompt (a string or an array) and max_tokens per choice", () => {
    expect(estimateTokens("/v1/completions", { prompt: "12345678", max_tokens: 10 })).toEqual({ prompt: 2, total: 12 });
    expect(estimateTokens("/v1/completions", { prompt: ["1234", "12345678"], max_tokens: 10, n: 2 })).toEqual({ prompt: 3, total: 23 });
    expect(estimateTokens("/v1/completions", { prompt: [1, 2, 3] }, 50).total).toBe(53);
  });
});

describe("the newer endpoints through the edge", () => {
  it("passes a multipart audio upload whose bytes hold many brackets, and charges it a fixed small estimate", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([new Uint8Array(4_096).fill("[".charCodeAt(0))], { type: "audio/wav" }), "a.wav");

    const res = await send("/v1/audio/transcriptions", { method: "POST", body: form }, key);

    expect(res.status).toBe(200);
    const heard = JSON.parse(res.text) as { bytes: number; type: string };
    expect(heard.type).toMatch(/^multipart\/form-data; boundary=/);
    expect(heard.bytes).toBeGreaterThan(4_096);
    // The transcription's own usage replaced the estimate.
    expect(await tokensLeft(record)).toBe(10_000 - 10);
    expect(opaqueBodyEstimate.total).toBeLessThan(1_000);
  });

  it("refuses a /v1/responses request asking for more output tokens than its key may use in a minute, naming max_output_tokens", async () => {
    const { key } = await createKey({ limits: { tpm: 1_000 } });

    const res = await edgeFetchWith({}, "/v1/responses", post({ model: "m", input: "hi", max_output_tokens: 5_000 }), key);

    expect(res.status).toBe(400);
    expect((await errorBody(res)).error.param).toBe("max_output_tokens");
  });

  it("holds back a /v1/completions prompt's estimate before the call: one that does not fit is refused", async () => {
    const { key } = await createKey({ limits: { tpm: 1_000 } });
    // 2,400 characters in two prompts: 600 tokens, plus 1 to complete.
    const init = () => post({ model: "m", prompt: ["x".repeat(1_200), "y".repeat(1_200)], max_tokens: 1 });

    // The first answer is left unread: its reservation stands until the usage comes.
    expect((await edgeFetch("/v1/completions", init(), key)).status).toBe(200);
    const refused = await edgeFetch("/v1/completions", init(), key);

    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit")).toContain('"key-tokens";r=399;');
  });

  it("counts a /v1/responses stream by its response.completed usage, without adding stream_options", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await send(
      "/v1/responses",
      post({ model: "m", input: "hi", stream: true, max_output_tokens: 1_000 }, { "x-test-usage": "70" }),
      key,
    );

    expect(res.status).toBe(200);
    expect(res.text).toContain("event: response.completed");
    expect(res.text).not.toContain('"stream_options_sent":true');
    expect(await tokensLeft(record)).toBe(10_000 - 70);
  });

  it("asks a /v1/completions stream for its usage, counts it, and leaves the usage chunk out", async () => {
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });

    const res = await send(
      "/v1/completions",
      post({ model: "m", prompt: "hi", stream: true, max_tokens: 1_000 }, { "x-test-usage": "40" }),
      key,
    );

    expect(res.status).toBe(200);
    expect(res.text).toContain("twelve chars");
    expect(res.text).not.toContain('"usage"');
    expect(await tokensLeft(record)).toBe(10_000 - 40);
  });
});
