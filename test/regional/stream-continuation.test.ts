import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import { startFakeUpstream, wordStream, type FakeUpstream, type RecordedRequest } from "../support/fake-upstream.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

/**
 * Stream continuation in process: two fake OpenAI-compatible providers that take a prefill
 * (`alpha` answers the first part and breaks, `beta` continues) and one that does not.
 */
const full = "one two three four five six seven eight";
let alpha: FakeUpstream;
let beta: FakeUpstream;
let plain: FakeUpstream;
let t: TestApp;

interface Message {
  role: string;
  content: string;
}
const bodyOf = (request: RecordedRequest) => JSON.parse(request.body) as { messages: Message[] };

const words = (cutAfter?: number) => wordStream(full, cutAfter);

const toolCallChunk = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":' } }] }, finish_reason: null }] })}\n\n`;

beforeAll(async () => {
  alpha = await startFakeUpstream(words(3));
  beta = await startFakeUpstream(words());
  plain = await startFakeUpstream(words());
  const provider = (name: string, upstream: FakeUpstream, prefill: boolean) =>
    createOpenAiProvider({
      name,
      baseUrl: upstream.baseUrl,
      apiKey: `sk-${name}`,
      models: [{ id: "m", kind: "chat" }],
      capabilities: { prefill },
    });
  const timeouts = { firstByteMs: 2_000, firstTokenMs: 2_000, idleMs: 500, totalMs: 10_000 };
  t = await createTestApp(inject("primaryUrl"), {
    providers: [provider("alpha", alpha, true), provider("beta", beta, true), provider("plain", plain, false)],
    routes: {
      routes: {
        continued: {
          targets: [
            { provider: "alpha", model: "m" },
            { provider: "beta", model: "m" },
          ],
          timeouts,
        },
        "plain-fallback": {
          targets: [
            { provider: "alpha", model: "m" },
            { provider: "plain", model: "m" },
          ],
          timeouts,
        },
      },
    },
  });
});
afterAll(async () => {
  await t?.close();
  for (const upstream of [alpha, beta, plain]) await upstream?.close();
});
afterEach(() => {
  for (const upstream of [alpha, beta, plain]) upstream.requests.length = 0;
  alpha.handle(words(3));
});

const stream = async (model: string) => {
  const response = await t.app.request(
    postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "count" }], stream: true }, t.apiKey),
  );
  const events = await sseDataOf(response);
  const text = events
    .filter((event) => event !== "[DONE]")
    .map((event) => JSON.parse(event) as { choices?: Array<{ delta: { content?: string } }> })
    .flatMap((chunk) => chunk.choices ?? [])
    .map((choice) => choice.delta.content ?? "")
    .join("");
  return { events, text };
};

describe("stream continuation", () => {
  it("continues a cut stream on the next target with what was delivered as the assistant's prefill", async () => {
    const { events, text } = await stream("continued");
    expect(text).toBe(full);
    expect(events.at(-1)).toBe("[DONE]");
    const asked = bodyOf(beta.requests[0]!).messages;
    // "one two three " reached the client; the prefill leaves out the trailing space, the seam adds none.
    expect(asked.at(-1)).toEqual({ role: "assistant", content: "one two three" });
    expect(asked.slice(0, -1)).toEqual([{ role: "user", content: "count" }]);
  });

  it("skips targets that do not take a prefill: the stream ends with the original failure", async () => {
    const { events, text } = await stream("plain-fallback");
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_error" } });
    expect(text).toBe("one two three ");
    expect(plain.requests).toHaveLength(0);
  });

  it("does not continue a tool-call stream: it ends with the error event", async () => {
    alpha.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(toolCallChunk);
      setTimeout(() => response.destroy(), 30);
    });
    const { events } = await stream("continued");
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toHaveProperty("error");
    expect(beta.requests).toHaveLength(0);
  });
});
