import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk } from "../../shared/contract/chat.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"));
});
afterAll(async () => t?.close());

const hello = {
  model: "mock/echo",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "hello there world" },
  ],
};

describe("POST /v1/chat/completions", () => {
  it("answers with the last user message, usage and who served it", async () => {
    const response = await t.app.request(postJson("/v1/chat/completions", hello, t.apiKey));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("mock");
    expect(response.headers.get("x-breakwater-attempts")).toBe("1");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await response.json()) as ChatCompletion;
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("mock/echo");
    expect(body.choices[0]?.message).toMatchObject({ role: "assistant", content: "hello there world" });
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it("keeps a valid request id from the caller", async () => {
    const response = await t.app.request(postJson("/v1/chat/completions", hello, t.apiKey, { "x-request-id": "caller-id-1234" }));
    expect(response.headers.get("x-request-id")).toBe("caller-id-1234");
  });

  it("streams word by word as chunk objects and ends with [DONE]", async () => {
    const response = await t.app.request(postJson("/v1/chat/completions", { ...hello, stream: true }, t.apiKey));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await sseDataOf(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "mock/echo")).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("hello there world");
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(3);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it("adds a usage chunk to the stream only when the client asks for it", async () => {
    const response = await t.app.request(
      postJson("/v1/chat/completions", { ...hello, stream: true, stream_options: { include_usage: true } }, t.apiKey),
    );
    const events = await sseDataOf(response);
    const usageChunk = JSON.parse(events.at(-2) ?? "{}") as ChatCompletionChunk;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(events.at(-1)).toBe("[DONE]");
  });

  it("reads text out of content parts", async () => {
    const parts = {
      model: "mock/echo",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "from " },
            { type: "text", text: "parts" },
          ],
        },
      ],
    };
    const body = (await (await t.app.request(postJson("/v1/chat/completions", parts, t.apiKey))).json()) as ChatCompletion;
    expect(body.choices[0]?.message.content).toBe("from parts");
  });
});

describe("GET /v1/models and POST /v1/embeddings", () => {
  it("lists the configured models as provider/model", async () => {
    const response = await t.app.request("/v1/models", { headers: { authorization: `Bearer ${t.apiKey}` } });
    const body = (await response.json()) as { object: string; data: Array<{ id: string; object: string; owned_by: string }> };
    expect(body.object).toBe("list");
    expect(body.data.map((model) => model.id)).toEqual([
      "mock/echo",
      "mock/embed",
      "mock/instruct",
      "mock/image",
      "mock/whisper",
      "mock/speak",
      "mock/moderate",
    ]);
    expect(body.data[0]).toMatchObject({ object: "model", owned_by: "mock" });
  });

  it("retrieves one model by id and 404s an unknown one", async () => {
    const headers = { authorization: `Bearer ${t.apiKey}` };
    expect(await (await t.app.request("/v1/models/mock/echo", { headers })).json()).toMatchObject({ id: "mock/echo" });
    const missing = await t.app.request("/v1/models/mock/nope", { headers });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
  });

  it("embeds each input as a deterministic 8-dimension unit vector", async () => {
    const request = { model: "mock/embed", input: ["alpha", "beta"] };
    const first = (await (await t.app.request(postJson("/v1/embeddings", request, t.apiKey))).json()) as {
      data: Array<{ index: number; embedding: number[] }>;
      model: string;
    };
    const second = (await (await t.app.request(postJson("/v1/embeddings", { model: "mock/embed", input: "alpha" }, t.apiKey))).json()) as {
      data: Array<{ embedding: number[] }>;
    };
    expect(first.model).toBe("mock/embed");
    expect(first.data.map((item) => item.index)).toEqual([0, 1]);
    expect(first.data[0]?.embedding).toHaveLength(8);
    expect(Math.hypot(...(first.data[0]?.embedding ?? []))).toBeCloseTo(1, 5);
    expect(second.data[0]?.embedding).toEqual(first.data[0]?.embedding);
    expect(first.data[1]?.embedding).not.toEqual(first.data[0]?.embedding);
  });

  it("answers base64 little-endian float32s when asked, as OpenAI's SDKs do by default", async () => {
    const floats = (await (await t.app.request(postJson("/v1/embeddings", { model: "mock/embed", input: "alpha" }, t.apiKey))).json()) as {
      data: Array<{ embedding: number[] }>;
    };
    const encoded = (await (
      await t.app.request(postJson("/v1/embeddings", { model: "mock/embed", input: "alpha", encoding_format: "base64" }, t.apiKey))
    ).json()) as { data: Array<{ embedding: string }> };
    const bytes = Buffer.from(encoded.data[0]?.embedding ?? "", "base64");
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toHaveLength(8);
    decoded.forEach((value, i) => expect(value).toBeCloseTo(floats.data[0]?.embedding[i] ?? NaN, 6));
  });
});
