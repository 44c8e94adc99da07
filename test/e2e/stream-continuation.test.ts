import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import type { FaultUpstream } from "../support/fault-upstream/client.ts";
import { chatRoute, chatTargets, stackProviders, startGatewayStack, type GatewayStack } from "../support/gateway-stack.ts";

/**
 * Streams that survive a provider dying mid-answer, from outside: the regional process
 * against the fault upstream, route `chat` = primary/model-a → primary/model-b →
 * secondary/model-a, every model taking an assistant prefill unless a rule says otherwise.
 * The upstream answers `full` from any provider, and a prefilled request with the rest of
 * it after the prefill, so the client's text can be compared with what it should be.
 */
const full = "The quick brown fox jumps over the lazy dog while the cat watches from the warm windowsill and the sun sets slowly.";
const idleMs = 1_500;

function routes(upstream: FaultUpstream): unknown {
  const provider = (name: string) => ({
    type: "openai",
    baseUrl: upstream.baseUrl(name),
    apiKey: "env:FAULT_UPSTREAM_KEY",
    models: ["model-a", "model-b"],
    capabilities: { prefill: true },
    timeouts: { firstByteMs: 5_000, firstTokenMs: 5_000, idleMs, totalMs: 60_000 },
  });
  return {
    providers: Object.fromEntries(stackProviders.map((name) => [name, provider(name)])),
    routes: { [chatRoute]: { targets: chatTargets }, "no-continue": { targets: chatTargets, continueOnBreak: false } },
  };
}

let database: TestDatabase;
let stack: GatewayStack;
beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  stack = await startGatewayStack({
    routes,
    regionalEnv: () => ({ DATABASE_URL: database.url, FAULT_UPSTREAM_KEY: "sk-fault", LOG_LEVEL: "error" }),
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  await database?.drop();
});
afterEach(async () => {
  await stack.upstream.reset();
});

interface Chunk {
  id: string;
  model: string;
  choices?: Array<{ delta: { role?: string; content?: string | null }; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  breakwater?: { parts: Array<{ provider: string; model: string; failure?: string }> };
  error?: { code: string; message: string };
}

async function stream(
  model = chatRoute,
  extra: Record<string, unknown> = {},
): Promise<{ events: string[]; chunks: Chunk[]; text: string; elapsedMs: number }> {
  const started = Date.now();
  const response = await stack.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "tell me about the fox" }], stream: true, ...extra }),
  });
  expect(response.status).toBe(200);
  const events = (await response.text())
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice(6));
  const chunks = events.filter((event) => event !== "[DONE]").map((event) => JSON.parse(event) as Chunk);
  const text = chunks.flatMap((chunk) => (chunk.choices ?? []).map((choice) => choice.delta.content ?? "")).join("");
  return { events, chunks, text, elapsedMs: Date.now() - started };
}

const cut = (after: number) => [{ text: full, intervalMs: 5, cutAfter: after, times: 1 }];

describe("stream continuation", () => {
  it("a stream cut after some tokens is continued on the next target: the whole answer exactly once, as one answer", async () => {
    await stack.upstream.setRules("primary", "model-a", cut(7));
    await stack.upstream.setRules("primary", "model-b", [{ text: full, intervalMs: 5 }]);
    const { events, chunks, text } = await stream(chatRoute, { stream_options: { include_usage: true } });

    expect(text).toBe(full);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.filter((chunk) => (chunk.choices ?? []).some((choice) => choice.delta.role !== undefined))).toHaveLength(1);
    expect(chunks.flatMap((chunk) => (chunk.choices ?? []).filter((choice) => choice.finish_reason !== null))).toHaveLength(1);
    expect(events.filter((event) => event === "[DONE]")).toHaveLength(1);
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.some((event) => event.includes('"error"'))).toBe(false);

    const usage = chunks.at(-1);
    expect(usage?.breakwater?.parts.map((part) => part.model)).toEqual(["primary/model-a", "primary/model-b"]);
    expect(usage?.breakwater?.parts[0]?.failure).toBeDefined();
    expect(usage?.usage?.completion_tokens).toBeGreaterThanOrEqual(full.split(" ").length);

    const [continued] = await stack.upstream.requests({ provider: "primary", model: "model-b" });
    expect(continued?.stream).toBe(true);
  });

  it("a stream that goes silent mid-answer is continued within the idle timeout", async () => {
    await stack.upstream.setRules("primary", "model-a", [{ text: full, intervalMs: 5, stallAfter: 5, times: 1 }]);
    await stack.upstream.setRules("primary", "model-b", [{ text: full, intervalMs: 5 }]);
    const { text, events, elapsedMs } = await stream();
    expect(text).toBe(full);
    expect(events.at(-1)).toBe("[DONE]");
    expect(elapsedMs).toBeLessThan(idleMs + 3_000);
    const [stalled] = await stack.upstream.requests({ provider: "primary", model: "model-a" });
    expect(stalled?.clientGoneAt).not.toBeNull();
  });

  it("when every fallback rejects the prefill, the stream ends with the error of the original cut, not the rejection", async () => {
    await stack.upstream.setRules("primary", "model-a", cut(6));
    await stack.upstream.setRules("primary", "model-b", [{ rejectPrefill: true }]);
    await stack.upstream.setRules("secondary", "model-a", [{ rejectPrefill: true }]);
    const { events, text } = await stream();
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1) ?? "{}") as Chunk;
    expect(last.error?.code).toBe("upstream_error");
    expect(last.error?.message).not.toContain("prefill");
    expect(full.startsWith(text)).toBe(true);
  });

  it("a route with continueOnBreak off ends a cut stream with the error event", async () => {
    await stack.upstream.setRules("primary", "model-a", cut(6));
    const { events } = await stream("no-continue");
    expect(events).not.toContain("[DONE]");
    expect((JSON.parse(events.at(-1) ?? "{}") as Chunk).error?.code).toBe("upstream_error");
    expect(await stack.upstream.requests({ provider: "primary", model: "model-b" })).toHaveLength(0);
  });

  it("n > 1 is not continued", async () => {
    await stack.upstream.setRules("primary", "model-a", cut(6));
    const { events } = await stream(chatRoute, { n: 2 });
    expect(events).not.toContain("[DONE]");
    expect(await stack.upstream.requests({ provider: "primary", model: "model-b" })).toHaveLength(0);
  });

  it("the official openai SDK's stream helper assembles a continued answer without error", async () => {
    await stack.upstream.setRules("primary", "model-a", cut(9));
    await stack.upstream.setRules("primary", "model-b", [{ text: full, intervalMs: 5 }]);
    const client = new OpenAI({
      baseURL: `${stack.regional.url}/v1`,
      apiKey: stack.devKey,
      fetch: (input, init) => stack.fetch(String(input), init),
      maxRetries: 0,
    });
    const runner = client.chat.completions.stream({ model: chatRoute, messages: [{ role: "user", content: "tell me about the fox" }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(full);
    expect(final.choices[0]?.finish_reason).toBe("stop");
  });
});
