import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { contentChunk, sendJson, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";

const devKey = "bw_e2eTestKey0123456789abcdefXYZ";
let database: TestDatabase;
let upstream: FakeUpstream;
let regional: RunningProcess;
let edge: RunningProcess;
let client: OpenAI;

/** The fake provider holds its stream after the first chunk until the test lets it go. */
let releaseStream: () => void = () => {};

beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  upstream = await startFakeUpstream(async (request, response) => {
    if (request.path.endsWith("/embeddings")) {
      const base64 = (JSON.parse(request.body) as { encoding_format?: string }).encoding_format === "base64";
      const embedding = base64 ? Buffer.from(new Float32Array([0.5, 0.25]).buffer).toString("base64") : [0.5, 0.25];
      sendJson(response, 200, {
        object: "list",
        data: [{ object: "embedding", index: 0, embedding }],
        model: "embed-x",
        usage: { prompt_tokens: 1, total_tokens: 1 },
      });
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(contentChunk("slow-model", "first "));
    await new Promise<void>((release) => (releaseStream = release));
    response.end(`${contentChunk("slow-model", "last", "stop")}data: [DONE]\n\n`);
  });
  regional = await startRegional({
    DATABASE_URL: database.url,
    BREAKWATER_DEV_KEY: devKey,
    OPENAI_API_KEY: "sk-upstream-only",
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_MODELS: "slow-model,embed-x",
    MAX_BODY_BYTES: String(1024 * 1024),
  });
  edge = await startEdge({ REGIONAL_ORIGIN: regional.url });
  client = new OpenAI({ baseURL: `${edge.url}/v1`, apiKey: devKey, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await regional?.stop();
  await upstream?.close();
  await database?.drop();
});

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id: string | null };
}

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${edge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json", ...headers },
    body,
  });
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
  return body;
}

describe("through the edge and the regional service", () => {
  it("answers a chat completion for the official SDK", async () => {
    const completion = await client.chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "hello through both tiers" }],
    });
    expect(completion.choices[0]?.message.content).toBe("hello through both tiers");
    expect(completion.model).toBe("mock/echo");
    expect(completion.usage?.total_tokens).toBe(8);
  });

  it("streams for the official SDK, usage included when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "one two three four" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("one two three four");
    expect(usage?.completion_tokens).toBe(4);
  });

  it("delivers stream chunks as they come, not when the stream ends, and [DONE] last", async () => {
    const response = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "openai/slow-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
    );
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    // The provider has sent only its first chunk and waits: it must reach us anyway.
    while (!text.includes("first ")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("stream ended before the first chunk");
      text += value;
    }
    expect(text).not.toContain("last");
    releaseStream();
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    expect(text).toContain("last");
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text.match(/^data: /gm)?.length).toBe(3);
  });

  it("never forwards the client's key to the provider", () => {
    const sent = upstream.requests.filter((request) => request.path.endsWith("/chat/completions"));
    expect(sent.length).toBeGreaterThan(0);
    for (const request of sent) {
      expect(request.headers.authorization).toBe("Bearer sk-upstream-only");
      expect(JSON.stringify(request.headers)).not.toContain(devKey);
    }
  });

  it("serves embeddings and the model list for the official SDK", async () => {
    const mock = await client.embeddings.create({ model: "mock/embed", input: ["a", "b"] });
    expect(mock.data.map((item) => item.embedding.length)).toEqual([8, 8]);
    const real = await client.embeddings.create({ model: "openai/embed-x", input: "x" });
    expect(real.data[0]?.embedding).toEqual([0.5, 0.25]);
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual([
      "mock/echo",
      "mock/embed",
      "mock/instruct",
      "mock/image",
      "mock/whisper",
      "mock/speak",
      "mock/moderate",
      "mock-anthropic/echo",
      "openai/slow-model",
      "openai/embed-x",
    ]);
  });

  it("keeps the caller's request id across both tiers", async () => {
    const response = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "id" }] }),
      { "x-request-id": "e2e-trace-0001" },
    );
    expect(response.headers.get("x-request-id")).toBe("e2e-trace-0001");
    await response.body?.cancel();
  });

  it("answers every bad input with a 4xx in the error shape", async () => {
    await expectError(await post("/v1/chat/completions", '{"model":'), 400, "invalid_json");
    const typed = await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: "mock/echo", messages: "hi" })),
      400,
      "invalid_request",
    );
    expect(typed.error.param).toBe("messages");
    const huge = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "x".repeat(1024 * 1024 + 1) }] });
    await expectError(await post("/v1/chat/completions", huge), 413, "payload_too_large");
    await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: "mock/unknown", messages: [{ role: "user", content: "x" }] })),
      404,
      "model_not_found",
    );
    await expectError(
      await post("/v1/chat/completions", "{}", { authorization: "Bearer bw_wrongwrongwrongwrongwrong" }),
      401,
      "invalid_api_key",
    );
    await expectError(await fetch(`${edge.url}/v1/chat/completions`, { method: "POST", body: "{}" }), 401, "invalid_api_key");
    await expectError(await fetch(`${edge.url}/elsewhere`), 404, "not_found");
  });

  it("SDK errors carry the gateway's status and code", async () => {
    const failure = await client.chat.completions
      .create({ model: "mock/missing", messages: [{ role: "user", content: "x" }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
    expect((failure as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("on SIGTERM lets an in-flight stream finish, then the edge answers 503 with Retry-After for the gone origin", async () => {
    const response = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "openai/slow-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? "";
    const stopped = regional.stop("SIGTERM", 30_000);
    await new Promise((done) => setTimeout(done, 300));
    releaseStream();
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await stopped).toBe(0);
    // The only origin is gone: no origin can take the request (see test/e2e/failover.test.ts for two).
    const goneResponse = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "x" }] }),
    );
    expect(goneResponse.headers.get("retry-after")).toBe("1");
    const gone = await expectError(goneResponse, 503, "unavailable");
    expect(gone.error.type).toBe("service_unavailable");
  });
});
