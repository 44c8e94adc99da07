import { describe, expect, it } from "vitest";
import { cacheKey, normalizedBody, type CacheKeyRequest } from "../../shared/cache-key.ts";

const chat = "/v1/chat/completions";
const messages = [{ role: "user", content: "hello" }];

function request(overrides: Partial<CacheKeyRequest> = {}): CacheKeyRequest {
  return { tenantId: "tenant-a", method: "POST", path: chat, query: "", body: { model: "mock/echo", messages }, ...overrides };
}

describe("cache key", () => {
  it("is a hex SHA-256 and the same for the same request", async () => {
    const key = await cacheKey(request());
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await cacheKey(request())).toBe(key);
  });

  it("differs between tenants for the same request", async () => {
    expect(await cacheKey(request({ tenantId: "tenant-b" }))).not.toBe(await cacheKey(request()));
  });

  it("differs by method, path and query", async () => {
    const base = await cacheKey(request({ method: "GET", path: "/v1/gpu/offers", query: "gpu=h100", body: undefined }));
    expect(await cacheKey(request({ method: "POST", path: "/v1/gpu/offers", query: "gpu=h100", body: undefined }))).not.toBe(base);
    expect(await cacheKey(request({ method: "GET", path: "/v1/gpu/offer", query: "gpu=h100", body: undefined }))).not.toBe(base);
    expect(await cacheKey(request({ method: "GET", path: "/v1/gpu/offers", query: "gpu=a100", body: undefined }))).not.toBe(base);
    expect(await cacheKey(request({ method: "GET", path: "/v1/gpu/offers", query: "", body: undefined }))).not.toBe(base);
  });

  it("ignores the order of query parameters but keeps repeated ones", async () => {
    const ordered = await cacheKey(request({ method: "GET", query: "a=1&b=2&b=3", body: undefined }));
    expect(await cacheKey(request({ method: "GET", query: "b=2&a=1&b=3", body: undefined }))).toBe(ordered);
    expect(await cacheKey(request({ method: "GET", query: "a=1&b=2", body: undefined }))).not.toBe(ordered);
  });

  it("ignores the order of body keys, nested ones included", async () => {
    const a = await cacheKey(request({ body: { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 } }));
    const b = await cacheKey(request({ body: { max_tokens: 5, messages: [{ content: "hi", role: "user" }], model: "m" } }));
    expect(b).toBe(a);
  });

  it("treats chat defaults spelled out, or null, like fields left out", async () => {
    const plain = await cacheKey(request());
    const spelled = {
      model: "mock/echo",
      messages,
      temperature: 1,
      top_p: 1,
      n: 1,
      stream: false,
      presence_penalty: 0,
      frequency_penalty: 0,
      user: null,
    };
    expect(await cacheKey(request({ body: spelled }))).toBe(plain);
    expect(await cacheKey(request({ body: { model: "mock/echo", messages, stream_options: { include_usage: true } } }))).toBe(plain);
  });

  it("keeps values that differ from the defaults apart", async () => {
    const plain = await cacheKey(request());
    expect(await cacheKey(request({ body: { model: "mock/echo", messages, temperature: 0 } }))).not.toBe(plain);
    expect(await cacheKey(request({ body: { model: "mock/echo", messages, n: 2 } }))).not.toBe(plain);
    expect(await cacheKey(request({ body: { model: "mock/other", messages } }))).not.toBe(plain);
    expect(await cacheKey(request({ body: { model: "mock/echo", messages: [{ role: "user", content: "hello!" }] } }))).not.toBe(plain);
  });

  it("keeps a streamed request apart from a JSON one, and its stream options but include_usage with it", async () => {
    const json = await cacheKey(request());
    const stream = await cacheKey(request({ body: { model: "mock/echo", messages, stream: true } }));
    expect(stream).not.toBe(json);
    // The edge asks every stream for usage and trims the chunk on replay: include_usage is not part of the answer.
    expect(await cacheKey(request({ body: { model: "mock/echo", messages, stream: true, stream_options: { include_usage: true } } }))).toBe(
      stream,
    );
    expect(
      await cacheKey(
        request({
          body: { model: "mock/echo", messages, stream: true, stream_options: { include_usage: true, include_obfuscation: false } },
        }),
      ),
    ).not.toBe(stream);
  });

  it("drops encoding_format float for embeddings only", async () => {
    const embeddings = { tenantId: "t", method: "POST", path: "/v1/embeddings", query: "" };
    const plain = await cacheKey({ ...embeddings, body: { model: "mock/embed", input: "x" } });
    expect(await cacheKey({ ...embeddings, body: { model: "mock/embed", input: "x", encoding_format: "float" } })).toBe(plain);
    expect(await cacheKey({ ...embeddings, body: { model: "mock/embed", input: "x", encoding_format: "base64" } })).not.toBe(plain);
    expect(normalizedBody(chat, { encoding_format: "float" })).toEqual({ encoding_format: "float" });
  });

  it("tells a missing body from an empty object or string", async () => {
    const none = await cacheKey(request({ method: "GET", path: "/v1/models", body: undefined }));
    expect(await cacheKey(request({ method: "GET", path: "/v1/models", body: {} }))).not.toBe(none);
    expect(await cacheKey(request({ method: "GET", path: "/v1/models", body: "" }))).not.toBe(none);
  });
});
