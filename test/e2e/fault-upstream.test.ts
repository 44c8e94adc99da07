import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFaultUpstream, type FaultUpstream, type RequestFilter, type RequestRecord } from "../support/fault-upstream/client.ts";
import { waitUntil } from "../infra/wait-until.ts";

/**
 * Pins the fault-injecting upstream that end-to-end tests run the gateway against: its
 * OpenAI wire format, each scripted fault as a client sees it, and the records a test reads
 * back. Driven with plain fetch and the official SDK, never through the gateway.
 */

let upstream: FaultUpstream;
let primary: OpenAI;

beforeAll(async () => {
  upstream = await startFaultUpstream(["primary", "secondary"]);
  primary = new OpenAI({ baseURL: upstream.baseUrl("primary"), apiKey: "sk-fault", maxRetries: 0 });
});

afterAll(async () => {
  await upstream?.close();
});

beforeEach(async () => {
  await upstream.reset();
});

const user = (content: string) => [{ role: "user" as const, content }];

function chat(provider: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${upstream.baseUrl(provider)}/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer sk-fault", "content-type": "application/json" },
    body: JSON.stringify({ model: "model-a", messages: user("one two three four"), ...body }),
    ...(signal && { signal }),
  });
}

/** The `data:` payloads of an SSE text. */
const events = (text: string) => [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1] ?? "");
const contentEvents = (text: string) => events(text).filter((data) => data.includes('"content":"') && !data.includes('"role"'));

/** Reads a body until it ends or errors; `error` is set when it broke off. */
async function drain(response: Response): Promise<{ text: string; error?: unknown }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    return { text };
  } catch (error) {
    return { text, error };
  }
}

/** Reads until `predicate(text)` holds, leaving the stream open. */
async function readUntil(reader: ReadableStreamDefaultReader<string>, predicate: (text: string) => boolean): Promise<string> {
  let text = "";
  while (!predicate(text)) {
    const part = await reader.read();
    if (part.done) throw new Error(`stream ended before the expected text, got: ${text}`);
    text += part.value;
  }
  return text;
}

async function onlyRecord(filter: RequestFilter = {}): Promise<RequestRecord> {
  const records = await upstream.requests(filter);
  expect(records).toHaveLength(1);
  return records[0]!;
}

/** The record once its outcome is no longer pending (the process sees a hang-up a moment after the client). */
const settled = (filter: RequestFilter = {}) =>
  waitUntil("the request to settle", async () => (await upstream.requests(filter)).find((record) => record.outcome !== "pending"), {
    timeoutMs: 3_000,
  });

describe("healthy answers", () => {
  it("answers a chat completion naming provider and model, with usage", async () => {
    const completion = await primary.chat.completions.create({
      model: "model-a",
      messages: [{ role: "system", content: "be brief" }, ...user("hello there")],
    });
    expect(completion.choices[0]?.message.content).toBe("primary/model-a: hello there");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });

    const record = await onlyRecord();
    expect(record).toMatchObject({
      provider: "primary",
      endpoint: "chat",
      model: "model-a",
      stream: false,
      status: 200,
      outcome: "completed",
      clientGoneAt: null,
      rule: null,
    });
    expect(record.bodyBytes).toBeGreaterThan(0);
  });

  it("streams for the SDK, with the usage chunk when asked", async () => {
    const stream = await primary.chat.completions.create({
      model: "any-name",
      messages: user("one two three"),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("primary/any-name: one two three");
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(await onlyRecord()).toMatchObject({ model: "any-name", stream: true, chunks: 4, outcome: "completed" });
  });

  it("ends a raw stream with data: [DONE] and sends no usage chunk unasked", async () => {
    await upstream.setRules("secondary", "*", [{ tokens: 6 }]);
    const { text, error } = await drain(await chat("secondary", { stream: true }));
    expect(error).toBeUndefined();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(contentEvents(text)).toHaveLength(6);
    expect(text).not.toContain('"usage"');
    expect(text).toContain('"content":" +5"');
  });

  it("serves embeddings and the model list", async () => {
    const embedded = await primary.embeddings.create({ model: "embed-a", input: ["a", "b"] });
    expect(embedded.data.map((item) => item.embedding.length)).toEqual([4, 4]);
    expect(embedded.usage.prompt_tokens).toBe(2);
    const models = [];
    for await (const model of primary.models.list()) models.push(model.id);
    expect(models).toEqual(["model-a", "model-b", "embed-a"]);
  });
});

describe("scripted faults", () => {
  it("answers a status in OpenAI's error shape with Retry-After", async () => {
    await upstream.setRules("primary", "model-a", [{ status: 429, retryAfter: 3 }]);
    const response = await chat("primary", {});
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(await response.json()).toEqual({
      error: { message: "Rate limit reached for requests.", type: "rate_limit_error", param: null, code: "rate_limit_exceeded" },
    });

    const failure = await primary.chat.completions.create({ model: "model-a", messages: user("x") }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    // Another model of the same provider has no script: healthy.
    expect((await chat("primary", { model: "model-b" })).status).toBe(200);
  });

  it("moves to the next rule after times, per provider and model", async () => {
    await upstream.setRules("primary", "*", [
      { status: 503, times: 2 },
      { status: 400, code: "context_length_exceeded", message: "maximum context length", times: 1 },
      { ok: true },
    ]);
    const statuses = [];
    for (let call = 0; call < 5; call++) statuses.push((await chat("primary", {})).status);
    expect(statuses).toEqual([503, 503, 400, 200, 200]);
    // The other provider is untouched.
    expect((await chat("secondary", {})).status).toBe(200);
    const served = await upstream.requests({ provider: "primary", outcome: "completed" });
    expect(served.map((record) => record.status)).toEqual([503, 503, 400, 200, 200]);
  });

  it("rejects a script a typo would turn into a healthy upstream", async () => {
    await expect(upstream.setRules("primary", "*", [{ status: 503, hang: true }])).rejects.toThrow(/one outcome per rule/);
    await expect(upstream.setRules("primary", "*", [{ ok: true }, { status: 500 }])).rejects.toThrow(/never apply/);
    await expect(upstream.setRules("tertiary", "*", [])).rejects.toThrow(/404/);
    const typo = await fetch(`${upstream.controlUrl}/control/rules`, {
      method: "POST",
      body: JSON.stringify({ provider: "primary", model: "*", rules: [{ statsu: 500 }] }),
    });
    expect(typo.status).toBe(400);
  });

  it("cutAfter: the stream's body errors after N content chunks, without [DONE]", async () => {
    await upstream.setRules("primary", "model-a", [{ tokens: 10, cutAfter: 3 }]);
    const response = await chat("primary", { stream: true });
    expect(response.status).toBe(200);
    const { text, error } = await drain(response);
    expect(error).toBeInstanceOf(Error);
    expect(contentEvents(text)).toHaveLength(3);
    expect(text).not.toContain("[DONE]");
    expect(await onlyRecord()).toMatchObject({ outcome: "cut", chunks: 3, clientGoneAt: null });
  });

  it("stallAfter: N chunks, then silence until the client leaves", async () => {
    await upstream.setRules("primary", "*", [{ tokens: 10, stallAfter: 2 }]);
    const controller = new AbortController();
    const response = await chat("primary", { stream: true }, controller.signal);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = await readUntil(reader, (seen) => contentEvents(seen).length >= 2);
    const more = await Promise.race([
      reader.read().then((part) => part.value ?? "(end)"),
      new Promise<string>((resolve) => setTimeout(() => resolve(""), 300)),
    ]);
    text += more;
    expect(contentEvents(text)).toHaveLength(2);
    expect(more).toBe("");
    expect((await onlyRecord()).outcome).toBe("pending");
    controller.abort();
    expect(await settled()).toMatchObject({ outcome: "client-gone", chunks: 2 });
  });

  it("malformedAfter: an event that is not JSON after N chunks, then the stream goes on", async () => {
    await upstream.setRules("primary", "*", [{ tokens: 4, malformedAfter: 2 }]);
    const { text, error } = await drain(await chat("primary", { stream: true }));
    expect(error).toBeUndefined();
    const data = events(text);
    const broken = data.findIndex((payload) => {
      try {
        JSON.parse(payload);
        return false;
      } catch {
        return payload !== "[DONE]";
      }
    });
    // role chunk, two content chunks, then the broken one.
    expect(broken).toBe(3);
    expect(contentEvents(text)).toHaveLength(4 + 1);
    expect(data.at(-1)).toBe("[DONE]");
  });

  it("reset: the connection drops without an answer", async () => {
    await upstream.setRules("primary", "*", [{ reset: true, times: 1 }]);
    await expect(chat("primary", {})).rejects.toThrow(/fetch failed/);
    expect(await onlyRecord()).toMatchObject({ outcome: "reset", status: null });
    expect((await chat("primary", {})).status).toBe(200);
  });

  it("latencyMs holds the headers; firstTokenDelayMs sends them at once and the content later", async () => {
    await upstream.setRules("primary", "model-a", [{ latencyMs: 250 }]);
    await upstream.setRules("primary", "model-b", [{ firstTokenDelayMs: 250 }]);

    let started = performance.now();
    const slow = await chat("primary", { model: "model-a", stream: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    await drain(slow);

    started = performance.now();
    const late = await chat("primary", { model: "model-b", stream: true });
    expect(performance.now() - started).toBeLessThan(200);
    const reader = late.body!.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(reader, (text) => contentEvents(text).length >= 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    await reader.cancel();
  });
});

describe("clients that leave", () => {
  it("hang: the record shows the client went away within a second of its abort", async () => {
    await upstream.setRules("primary", "*", [{ hang: true }]);
    const controller = new AbortController();
    const pending = chat("primary", {}, controller.signal);
    await waitUntil("the hanging request to arrive", async () => (await upstream.requests()).length === 1);
    const abortedAt = Date.now();
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);

    const record = await settled();
    expect(record).toMatchObject({ outcome: "client-gone", status: null, completedAt: null });
    expect(record.clientGoneAt! - abortedAt).toBeLessThan(1_000);
  });

  it("holdStream: streams until the client cancels its read, and records when", async () => {
    await upstream.setRules("primary", "*", [{ holdStream: true, intervalMs: 20 }]);
    const response = await chat("primary", { stream: true });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(reader, (text) => contentEvents(text).length >= 5);
    const cancelledAt = Date.now();
    await reader.cancel();

    const record = await settled();
    expect(record.outcome).toBe("client-gone");
    expect(record.chunks).toBeGreaterThanOrEqual(5);
    expect(record.clientGoneAt! - cancelledAt).toBeLessThan(1_000);
  });
});

/** The most requests the upstream held at one time, from their arrival and completion times. */
function peakInFlight(records: RequestRecord[]): number {
  const moments = records.flatMap((record) => [
    { at: record.receivedAt, change: 1 },
    { at: record.completedAt ?? Number.POSITIVE_INFINITY, change: -1 },
  ]);
  moments.sort((x, y) => x.at - y.at || x.change - y.change);
  let current = 0;
  let peak = 0;
  for (const { change } of moments) peak = Math.max(peak, (current += change));
  return peak;
}

describe("under load", () => {
  it("takes 512 concurrent streams, held at once, and completes every one", async () => {
    // The first token waits long enough for most streams to have arrived before any ends.
    await upstream.setRules("primary", "*", [{ firstTokenDelayMs: 500, tokens: 5, intervalMs: 10 }]);
    const outcomes = await Promise.all(
      Array.from({ length: 512 }, async (_, index) => {
        const { text, error } = await drain(await chat("primary", { stream: true, messages: user(`stream ${index}`) }));
        return { ok: error === undefined && text.endsWith("data: [DONE]\n\n") && contentEvents(text).length === 5 };
      }),
    );
    expect(outcomes.filter((outcome) => !outcome.ok)).toHaveLength(0);

    const records = await upstream.requests({ provider: "primary" });
    expect(records).toHaveLength(512);
    expect(records.every((record) => record.outcome === "completed")).toBe(true);
    // Typically all 512; half leaves room for a loaded machine that opens the last ones late.
    expect(peakInFlight(records)).toBeGreaterThanOrEqual(256);
  });
});
