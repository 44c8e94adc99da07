import { describe, expect, it } from "vitest";
import { edgeFetch, edgeFetchWith, errorBody, fakeOrigin } from "./harness.ts";

/** A chat request whose unknown field `extra` holds `depth` nested arrays: depth + 1 in all. */
const nestedChat = (depth: number) =>
  `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}],"extra":${"[".repeat(depth)}${"]".repeat(depth)}}`;

const post = (body: string, counted: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-test-calls": counted },
  body,
});

describe("request bodies nested too deep at the edge", () => {
  it("answer 400 invalid_request naming the limit, every time, and never reach the origin", async () => {
    const counted = crypto.randomUUID();
    for (let i = 0; i < 2; i++) {
      const res = await edgeFetch("/v1/chat/completions", post(nestedChat(50_000), counted));
      expect(res.status).toBe(400);
      expect((await errorBody(res)).error).toMatchObject({
        code: "invalid_request",
        message: "The request body is nested deeper than 64 levels.",
      });
    }
    expect(await fakeOrigin.calls(counted)).toBe(0);
  });

  it("are refused before the response cache keys them (embeddings are cached)", async () => {
    const counted = crypto.randomUUID();
    const res = await edgeFetch(
      "/v1/embeddings",
      post(`{"model":"mock/embed","input":${"[".repeat(50_000)}${"]".repeat(50_000)}}`, counted),
    );
    expect(res.status).toBe(400);
    expect((await errorBody(res)).error.code).toBe("invalid_request");
    expect(await fakeOrigin.calls(counted)).toBe(0);
  });

  it("go through exactly at the limit", async () => {
    const counted = crypto.randomUUID();
    const res = await edgeFetch("/v1/chat/completions", post(nestedChat(63), counted));
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(await fakeOrigin.calls(counted)).toBe(1);
  });

  it("follow MAX_JSON_DEPTH", async () => {
    const counted = crypto.randomUUID();
    const res = await edgeFetchWith({ MAX_JSON_DEPTH: "3" }, "/v1/chat/completions", post(nestedChat(3), counted));
    expect(res.status).toBe(400);
    expect((await errorBody(res)).error.message).toBe("The request body is nested deeper than 3 levels.");
    expect(await fakeOrigin.calls(counted)).toBe(0);
  });
});

describe("the edge's error handler", () => {
  it("answers an exception that is not a GatewayError with 500 and the generic message only", async () => {
    // A bad setting throws a plain Error naming it; that text is for the log, not the client.
    const res = await edgeFetchWith({ MAX_JSON_DEPTH: "deep" }, "/v1/echo", post("{}", crypto.randomUUID()));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "internal_error", type: "server_error", message: "Internal error." } });
    expect(text).not.toContain("MAX_JSON_DEPTH");
  });
});
