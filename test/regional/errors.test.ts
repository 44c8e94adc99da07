import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null; request_id: string | null };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { maxBodyBytes: 64 * 1024 });
});
afterAll(async () => t?.close());

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
  return body;
}

const chat = (body: unknown, headers?: Record<string, string>) => t.app.request(postJson("/v1/chat/completions", body, t.apiKey, headers));

describe("bad requests get a 4xx in OpenAI's error shape", () => {
  it("rejects malformed JSON with 400 invalid_json", async () => {
    const body = await expectError(await chat('{"model": "mock/echo", "messages": ['), 400, "invalid_json");
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("rejects an empty body with 400", async () => {
    await expectError(await chat(""), 400, "invalid_json");
  });

  it("names the field with the wrong type", async () => {
    const body = await expectError(await chat({ model: "mock/echo", messages: [{ role: "user", content: 42 }] }), 400, "invalid_request");
    expect(body.error.param).toBe("messages[0].content");
    expect(body.error.message).toContain("messages[0].content");
  });

  it("names a wrongly typed top-level field", async () => {
    const body = await expectError(
      await chat({ model: "mock/echo", messages: [{ role: "user", content: "hi" }], temperature: "hot" }),
      400,
      "invalid_request",
    );
    expect(body.error.param).toBe("temperature");
  });

  it("rejects a body that is not an object", async () => {
    await expectError(await chat("[1,2,3]"), 400, "invalid_request");
  });

  it("rejects a body over the limit with 413, by Content-Length", async () => {
    const big = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "x".repeat(70 * 1024) }] });
    await expectError(await chat(big), 413, "payload_too_large");
  });

  it("rejects a body over the limit with 413 when it arrives without a length", async () => {
    const piece = new TextEncoder().encode("x".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(piece);
        else controller.close();
      },
    });
    const request = new Request("http://regional.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    await expectError(await t.app.request(request), 413, "payload_too_large");
  });

  it("answers an unknown model with 404 model_not_found", async () => {
    const body = await expectError(await chat({ model: "mock/nope", messages: [{ role: "user", content: "hi" }] }), 404, "model_not_found");
    expect(body.error.param).toBe("model");
    await expectError(await chat({ model: "nobody/nothing", messages: [{ role: "user", content: "hi" }] }), 404, "model_not_found");
  });

  it("refuses a chat model for embeddings", async () => {
    await expectError(
      await t.app.request(postJson("/v1/embeddings", { model: "mock/echo", input: "hi" }, t.apiKey)),
      400,
      "invalid_request",
    );
  });

  it("answers a missing key with 401", async () => {
    const response = await t.app.request("/v1/chat/completions", { method: "POST", body: "{}" });
    const body = await expectError(response, 401, "invalid_api_key");
    expect(body.error.type).toBe("authentication_error");
  });

  it("answers a wrong, malformed or revoked key with 401", async () => {
    await expectError(await t.app.request(postJson("/v1/models", {}, "bw_thisKeyDoesNotExist0000000000")), 401, "invalid_api_key");
    await expectError(await t.app.request(postJson("/v1/models", {}, "not-a-key")), 401, "invalid_api_key");
    const { key } = await t.keys.create(t.tenantId, "to revoke");
    expect((await t.app.request("/v1/models", { headers: { "x-api-key": key } })).status).toBe(200);
    await t.db.write`update api_keys set status = 'revoked', revoked_at = now() where prefix = ${key.slice(0, 11)}`;
    await expectError(await t.app.request("/v1/models", { headers: { "x-api-key": key } }), 401, "invalid_api_key");
  });

  it("answers an unknown route with 404 not_found", async () => {
    await expectError(await t.app.request("/nowhere"), 404, "not_found");
    await expectError(await t.app.request("/v1/nowhere", { headers: { authorization: `Bearer ${t.apiKey}` } }), 404, "not_found");
  });
});
