import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { createLogger } from "../../regional/logger.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

/** Secrets a request, a provider or a bug could put where a log line picks them up. */
const secrets = {
  wrongKey: "bw_wrongKEYwrongKEY0123456789",
  xApiKey: "bw_xApiKEYxApiKEY0123456789",
  providerKey: "sk-proj-providerKEY0123456789abcdef",
  dbPassword: "pg-Pa55word-Xy7q2",
  bodyToken: "sk-bodyTOKENbodyTOKEN0123456789",
  cookie: "session-COOKIE-0123456789",
};

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;

interface Line {
  level: string;
  msg: string;
  time: string;
  [field: string]: unknown;
}

const chunk = (content: string, finish: "stop" | null = null): ChatCompletionChunk => ({
  id: "chatcmpl-log",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [{ index: 0, delta: finish ? {} : { content }, finish_reason: finish }],
});

const completion = (content: string): ChatCompletion => ({
  id: "chatcmpl-log",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

/** A provider with a bug: it throws a plain Error quoting a connection string and the request it was given. */
const buggy: Provider = {
  name: "buggy",
  models: () => [{ id: "m", kind: "chat" }],
  async chat(request) {
    throw new Error(`lost postgres://app:${secrets.dbPassword}@db.internal:5432/app while handling ${JSON.stringify(request.messages)}`);
  },
  async chatStream() {
    throw new Error("not streamed");
  },
  async embeddings() {
    throw new Error("no embeddings");
  },
};

/** Time as the access log reads it; `slow` moves it on while it answers, as a slow upstream would. */
const clock = { ms: 1_000 };
const slow: Provider = {
  name: "slow",
  models: () => [{ id: "m", kind: "chat" }],
  async chat(request) {
    clock.ms += Number(request.messages[0]?.content);
    return completion("late");
  },
  async chatStream(request) {
    const takes = Number(request.messages[0]?.content);
    return (async function* () {
      yield chunk("first");
      // Headers are out by now: the answer is long, its first byte was not late.
      clock.ms += takes;
      yield chunk("", "stop");
    })();
  },
  async embeddings() {
    throw new Error("no embeddings");
  },
};

describe("regional logs", () => {
  let t: TestApp;
  let upstream: FakeUpstream;
  const lines: string[] = [];
  const parsed = () => lines.map((line) => JSON.parse(line) as Line);
  const accessLines = () => parsed().filter((line) => line.msg === "request" || line.msg === "slow request");
  const accessLineOf = (requestId: string) => accessLines().find((line) => line.request_id === requestId);

  beforeAll(async () => {
    // A provider that echoes our key back in its error bodies, as some do.
    upstream = await startFakeUpstream((request, response) => {
      const echoed = { error: { message: `Incorrect API key provided: ${secrets.providerKey} (${request.headers.authorization ?? ""})` } };
      if (!request.body.includes('"stream":true'))
        return response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify(echoed));
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(`data: ${JSON.stringify(chunk("partial"))}\n\n`);
      response.end(`data: ${JSON.stringify(echoed)}\n\n`);
    });
    const leaky = createOpenAiProvider({
      name: "leaky",
      baseUrl: upstream.baseUrl,
      apiKey: secrets.providerKey,
      models: [{ id: "m", kind: "chat" }],
    });
    const once = { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1_000 } };
    t = await createTestApp(inject("primaryUrl"), {
      providers: [createMockProvider(), leaky, buggy, slow],
      routes: { providers: { leaky: once, buggy: once, slow: once } },
      logLines: lines,
      accessLog: { slowRequestMs: 5_000, now: () => clock.ms },
    });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const ask = async (model: string, options: { stream?: boolean; key?: string; content?: string } = {}) =>
    await t.app.request(
      postJson(
        "/v1/chat/completions",
        { model, stream: options.stream ?? false, messages: [{ role: "user", content: options.content ?? `Bearer ${secrets.bodyToken}` }] },
        options.key ?? t.apiKey,
        { traceparent, cookie: `sid=${secrets.cookie}` },
      ),
    );
  /** The status, once the body (a stream too) was read to its end. */
  const statusOf = async (answer: Promise<Response>) => {
    const response = await answer;
    await response.text();
    return response.status;
  };

  // Error messages carry the provider's words to the client; a provider that echoes our key must not hand it out.
  it("keep a provider key its error body echoes out of the answer the client gets, streamed or not", async () => {
    const failed = await ask("leaky/m");
    const cut = await ask("leaky/m", { stream: true });
    const bodies = `${await failed.text()}${await cut.text()}`;
    expect(failed.status).toBe(503);
    expect(bodies).toContain("Incorrect API key provided: sk-[redacted]");
    expect(bodies).not.toContain(secrets.providerKey);
  });

  it("carry no key, token or password from requests, providers or bugs, on the paths that fail too", async () => {
    const answers = await Promise.all([
      statusOf(ask("mock/echo")),
      statusOf(ask("mock/echo", { stream: true })),
      statusOf(ask("mock/echo", { key: secrets.wrongKey })),
      statusOf(Promise.resolve(t.app.request("/v1/models", { headers: { "x-api-key": secrets.xApiKey, traceparent } }))),
      statusOf(ask("leaky/m")),
      statusOf(ask("leaky/m", { stream: true })),
      statusOf(ask("buggy/m")),
    ]);
    expect(answers).toEqual([200, 200, 401, 401, 503, 200, 500]);
    await t.deps.usage.flush();

    const output = lines.join("\n");
    for (const secret of [t.apiKey, ...Object.values(secrets)]) expect(output).not.toContain(secret);
    // The failures were logged, with what helps an operator left in place.
    const logged = parsed();
    const bug = logged.find((line) => line.msg === "request failed" && line.code === "internal_error");
    expect(bug).toMatchObject({ level: "error" });
    expect(JSON.stringify(bug)).toContain("postgres://[redacted]@db.internal:5432/app");
    expect(JSON.stringify(bug)).toContain("Bearer [redacted]");
    const cut = logged.find((line) => line.msg === "stream failed after it started");
    expect(JSON.stringify(cut)).toContain("Incorrect API key provided: sk-[redacted]");
  });

  it("write one access line per request with its route, status, duration, tenant, provider, attempts and ids", async () => {
    const answered = await ask("mock/echo", { content: "hello" });
    await answered.text();
    const requestId = answered.headers.get("x-request-id") ?? "";
    expect(accessLines().filter((line) => line.request_id === requestId)).toHaveLength(1);
    expect(accessLineOf(requestId)).toEqual({
      level: "info",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      msg: "request",
      method: "POST",
      route: "/v1/chat/completions",
      status: 200,
      // The injected clock stood still: nothing here moved it.
      duration_ms: 0,
      tenant: t.tenantId,
      provider: "mock",
      attempts: 1,
      request_id: requestId,
      trace_id: traceId,
    });

    const refused = await ask("mock/echo", { key: secrets.wrongKey });
    expect(accessLineOf(refused.headers.get("x-request-id") ?? "")).toMatchObject({
      level: "info",
      route: "/v1/chat/completions",
      status: 401,
      trace_id: traceId,
    });
    expect(accessLineOf(refused.headers.get("x-request-id") ?? "")).not.toHaveProperty("tenant");

    const failed = await ask("leaky/m");
    const failedLine = accessLineOf(failed.headers.get("x-request-id") ?? "");
    expect(failedLine).toMatchObject({ status: 503, attempts: 1 });
    expect(failedLine).not.toHaveProperty("provider");
  });

  it("log a stream when it ends, saying whether it completed, broke or lost its client", async () => {
    const done = await ask("mock/echo", { stream: true, content: "one two three" });
    const doneId = done.headers.get("x-request-id") ?? "";
    expect(accessLineOf(doneId)).toBeUndefined();
    await done.text();
    expect(accessLineOf(doneId)).toMatchObject({ status: 200, stream: "done", provider: "mock", route: "/v1/chat/completions" });

    const broken = await ask("leaky/m", { stream: true });
    await broken.text();
    expect(accessLineOf(broken.headers.get("x-request-id") ?? "")).toMatchObject({ status: 200, stream: "error", provider: "leaky" });

    const left = await ask("mock/echo", { stream: true, content: "a b c d e f g h" });
    const reader = left.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    expect(accessLineOf(left.headers.get("x-request-id") ?? "")).toMatchObject({ status: 200, stream: "client_gone" });

    // A Responses stream ends with its `response.completed` event, not `[DONE]`: whole all the same.
    const responses = await t.app.request(postJson("/v1/responses", { model: "mock/echo", input: "one two", stream: true }, t.apiKey));
    const responsesText = await responses.text();
    expect(responsesText).toContain("response.completed");
    expect(responsesText).not.toContain("[DONE]");
    expect(accessLineOf(responses.headers.get("x-request-id") ?? "")).toMatchObject({
      status: 200,
      stream: "done",
      route: "/v1/responses",
    });
  });

  it("log health checks at debug, not info", async () => {
    const live = await t.app.request("/health/live");
    expect(accessLineOf(live.headers.get("x-request-id") ?? "")).toMatchObject({ level: "debug", route: "/health/live", status: 200 });
  });

  it("warn of a request slower than SLOW_REQUEST_MS, and of none faster", async () => {
    const slowOne = await ask("slow/m", { content: "5001" });
    expect(accessLineOf(slowOne.headers.get("x-request-id") ?? "")).toMatchObject({
      level: "warn",
      msg: "slow request",
      route: "/v1/chat/completions",
      status: 200,
      duration_ms: 5001,
      provider: "slow",
    });

    const inTime = await ask("slow/m", { content: "4999" });
    expect(accessLineOf(inTime.headers.get("x-request-id") ?? "")).toMatchObject({ level: "info", msg: "request", duration_ms: 4999 });

    // A long stream whose first byte came at once is not slow: long answers take long.
    const longStream = await ask("slow/m", { stream: true, content: "60000" });
    await longStream.text();
    expect(accessLineOf(longStream.headers.get("x-request-id") ?? "")).toMatchObject({
      level: "info",
      duration_ms: 60_000,
      first_byte_ms: 0,
      stream: "done",
    });
  });
});

describe("the logger", () => {
  const capture = () => {
    const written: { line: Line; isError: boolean }[] = [];
    const logger = createLogger("debug", (line, isError) => written.push({ line: JSON.parse(line) as Line, isError }));
    return { logger, written };
  };

  it("redacts fields named for credentials whatever their value, at the top and nested", () => {
    const { logger, written } = capture();
    logger.info("calling out", {
      authorization: "opaque-value-1",
      password: "opaque-value-2",
      headers: { "X-Api-Key": "opaque-value-3", cookie: "opaque-value-4" },
      provider: { apiKey: "opaque-value-5" },
      settings: { OPENAI_API_KEY: "opaque-value-6" },
      model: "gpt-4o-mini",
    });
    expect(JSON.stringify(written)).not.toMatch(/opaque-value/);
    expect(written[0]?.line).toMatchObject({
      authorization: "[redacted]",
      password: "[redacted]",
      headers: { "X-Api-Key": "[redacted]", cookie: "[redacted]" },
      provider: { apiKey: "[redacted]" },
      model: "gpt-4o-mini",
    });
  });

  it("writes pino's JSON lines, level names as words, warnings and errors to stderr", () => {
    const { logger, written } = capture();
    logger.debug("d");
    logger.info("i", { n: 1 });
    logger.warn("w");
    logger.error("e", { error: new RangeError("bad") });
    expect(written.map(({ line, isError }) => [line.level, line.msg, isError])).toEqual([
      ["debug", "d", false],
      ["info", "i", false],
      ["warn", "w", true],
      ["error", "e", true],
    ]);
    expect(written[3]?.line.error).toMatchObject({ name: "RangeError", message: "bad", stack: expect.stringContaining("RangeError: bad") });
  });

  it("writes a flat line (the access log's) as pino writes the same fields, redacted and scrubbed alike", () => {
    const lines: { text: string; isError: boolean }[] = [];
    const logger = createLogger("info", (text, isError) => lines.push({ text, isError }));
    const fields = {
      method: "POST",
      request_id: 'id "quoted" Bearer opaque-token-1',
      status: 200,
      duration_ms: 1.5,
      cached: false,
      tenant: undefined,
      authorization: "opaque-value-2",
      ratio: Number.NaN,
    };
    logger.info("request", fields);
    logger.flat("info", "request", fields);
    logger.flat("debug", "not written at info", fields);
    logger.flat("warn", "slow request", { method: "GET" });
    const [byPino, flat, warning] = lines;
    expect(lines).toHaveLength(3);
    expect(JSON.stringify(lines)).not.toMatch(/opaque-/);
    // Field for field and in pino's order: level, time, the fields, msg.
    const parsed = JSON.parse(flat?.text ?? "{}") as Line;
    expect(Object.keys(parsed)).toEqual(Object.keys(JSON.parse(byPino?.text ?? "{}") as Line));
    expect({ ...parsed, time: "" }).toEqual({ ...(JSON.parse(byPino?.text ?? "{}") as Line), time: "" });
    expect(parsed).toMatchObject({ request_id: 'id "quoted" Bearer [redacted]', authorization: "[redacted]", ratio: null, cached: false });
    expect(parsed.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect([flat?.isError, warning?.isError]).toEqual([false, true]);
    expect(JSON.parse(warning?.text ?? "{}")).toMatchObject({ level: "warn", method: "GET", msg: "slow request" });
  });
});
