import type { ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { nodeTransport } from "../../regional/providers/http.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { PoolSettings } from "../../regional/providers/pool.ts";
import type { CallContext } from "../../regional/providers/types.ts";
import { freePort } from "../support/processes.ts";
import { contentChunk, sendJson, sleep, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";

let upstream: FakeUpstream;
/** Answers the fake upstream holds back until a test lets them go. */
let held: ServerResponse[];
/** One per call, as the router gives each attempt its own; aborted when the test ends. */
let calls: AbortController[];

beforeEach(async () => {
  held = [];
  calls = [];
  upstream = await startFakeUpstream((_, response) => void held.push(response));
});
afterEach(async () => {
  for (const call of calls) call.abort(new Error("test over"));
  await upstream.close();
});

const question = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };
const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
};

function provider(pool: Partial<PoolSettings> = {}, baseUrl = upstream.baseUrl) {
  return createOpenAiProvider({ name: "up", baseUrl, apiKey: "k", models: [{ id: "m", kind: "chat" }], transport: nodeTransport(pool) });
}

function context(extra: Partial<CallContext> = {}): CallContext {
  const call = new AbortController();
  calls.push(call);
  return { signal: call.signal, requestId: "req-pool", ...extra };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("provider connection pool", () => {
  it("fails a third concurrent call with overloaded while two hang, without charging the provider", async () => {
    const up = provider({ maxSockets: 2, queueTimeoutMs: 100 });
    const hanging = [up.chat(question, context()), up.chat(question, context())];
    hanging.forEach((call) => void call.catch(() => {}));
    await until(() => held.length === 2, "two calls at the upstream");

    const onSent = vi.fn();
    const started = Date.now();
    const error = await failureOf(up.chat(question, context({ onSent })));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "overloaded", status: 503, retryAfterS: 1, upstreamStatus: undefined, transport: false });
    expect((error as GatewayError).message).toContain("no connection became free within 100 ms");
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(onSent).not.toHaveBeenCalled();
    expect(upstream.requests).toHaveLength(2);
  });

  it("calls onSent only once a connection was free and the request written", async () => {
    const up = provider({ maxSockets: 1, queueTimeoutMs: 5_000 });
    const firstSent = vi.fn();
    const first = up.chat(question, context({ onSent: firstSent }));
    await until(() => held.length === 1, "the first call at the upstream");
    expect(firstSent).toHaveBeenCalledTimes(1);

    const secondSent = vi.fn();
    const second = up.chat(question, context({ onSent: secondSent }));
    await sleep(100);
    expect(secondSent).not.toHaveBeenCalled();
    expect(upstream.requests).toHaveLength(1);

    sendJson(held[0] as ServerResponse, 200, completion);
    await first;
    await until(() => held.length === 2, "the second call at the upstream");
    expect(secondSent).toHaveBeenCalledTimes(1);
    sendJson(held[1] as ServerResponse, 200, completion);
    expect((await second).choices[0]?.message.content).toBe("ok");
  });

  it("lets a waiting call whose client leaves go at once, with the client's reason", async () => {
    const up = provider({ maxSockets: 1, queueTimeoutMs: 5_000 });
    void up.chat(question, context()).catch(() => {});
    await until(() => held.length === 1, "the first call at the upstream");
    const client = new AbortController();
    const waiting = failureOf(up.chat(question, context({ signal: client.signal })));
    const reason = new Error("client left");
    const started = Date.now();
    client.abort(reason);
    expect(await waiting).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);

    // The slot it waited for goes to the next caller, not to a call that is gone.
    sendJson(held[0] as ServerResponse, 200, completion);
    const next = up.chat(question, context());
    await until(() => held.length === 2, "the next call at the upstream");
    sendJson(held[1] as ServerResponse, 200, completion);
    await expect(next).resolves.toMatchObject({ id: "chatcmpl-1" });
  });

  it("flags a refused connection as a transport fault with no upstream status", async () => {
    const closed = `http://127.0.0.1:${await freePort()}/v1`;
    const error = await failureOf(provider({}, closed).chat(question, context()));
    expect(error).toMatchObject({ code: "upstream_error", transport: true, upstreamStatus: undefined });
  });

  it("flags a connection reset before any answer as a transport fault", async () => {
    upstream.handle((_, response) => response.socket?.destroy());
    const error = await failureOf(provider().chat(question, context()));
    expect(error).toMatchObject({ code: "upstream_error", transport: true });
  });

  it("keeps an answer the provider gave apart from transport faults", async () => {
    upstream.handle((_, response) => sendJson(response, 503, { error: { message: "busy" } }));
    const error = await failureOf(provider().chat(question, context()));
    expect(error).toMatchObject({ code: "upstream_error", transport: false, upstreamStatus: 503 });
  });

  it("rethrows the caller's abort reason instead of a transport fault", async () => {
    const client = new AbortController();
    const call = failureOf(provider().chat(question, context({ signal: client.signal })));
    await until(() => held.length === 1, "the call at the upstream");
    const reason = new Error("deadline");
    client.abort(reason);
    expect(await call).toBe(reason);
  });

  it("gives 512 concurrent streams to one provider their first byte with the default pool", async () => {
    const streams = 512;
    upstream.handle((_, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(contentChunk("m", "first"));
      held.push(response);
    });
    const up = provider();
    const firstChunk = async () => {
      const chunks = (await up.chatStream({ ...question, stream: true }, context()))[Symbol.asyncIterator]();
      return { chunks, first: await chunks.next() };
    };
    const all = Promise.all(Array.from({ length: streams }, firstChunk));
    const started = await Promise.race([all, sleep(15_000).then(() => undefined)]);
    expect(started, `only ${held.length} of ${streams} streams reached the upstream`).toBeDefined();
    const opened = started ?? [];
    expect(opened.map(({ first }) => (first.value as ChatCompletionChunk | undefined)?.choices[0]?.delta.content)).toEqual(
      Array(streams).fill("first"),
    );

    for (const response of held) response.end("data: [DONE]\n\n");
    const rests = await Promise.all(opened.map(async ({ chunks }) => (await chunks.next()).done));
    expect(rests.every(Boolean)).toBe(true);
  });
});
