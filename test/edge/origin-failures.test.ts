import { afterEach, describe, expect, it, vi } from "vitest";
import { edgeFetch, edgeFetchWith, errorBody, fakeOrigin, readToEnd } from "./harness.ts";

const timeoutMs = 1_000;

afterEach(() => {
  vi.useRealTimers();
});

describe("when the origin fails", () => {
  it("answers 503 unavailable with Retry-After in the error shape when nothing listens", async () => {
    // A name of its own, so no other test meets this origin's breaker.
    const res = await edgeFetchWith({ REGIONAL_ORIGINS: `dead-${crypto.randomUUID().slice(0, 8)}=http://127.0.0.1:1` }, "/v1/models", {
      headers: { "x-request-id": "client-req:0503" },
    });

    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toBe("client-req:0503");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await errorBody(res)).toEqual({
      error: {
        message: "No regional origin can be reached right now.",
        type: "service_unavailable",
        code: "unavailable",
        param: null,
        request_id: "client-req:0503",
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
  });

  it("answers 502 origin_unreachable when the origin drops the connection without answering", async () => {
    const res = await edgeFetch("/v1/reset");

    expect(res.status).toBe(502);
    const body = await errorBody(res);
    expect(body.error.code).toBe("origin_unreachable");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("answers 504 upstream_timeout when no response headers arrive within ORIGIN_TIMEOUT_MS", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const id = crypto.randomUUID();
    const pending = edgeFetchWith({ ORIGIN_TIMEOUT_MS: String(timeoutMs) }, `/v1/hang/${id}`);
    await fakeOrigin.arrived(id);

    vi.advanceTimersByTime(timeoutMs);
    const res = await pending;

    expect(res.status).toBe(504);
    const body = await errorBody(res);
    expect(body.error).toMatchObject({ type: "timeout_error", code: "upstream_timeout", param: null });
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    // The edge gave up on the origin: it closed the held request instead of leaving it hanging.
    await fakeOrigin.closed(id);
  });

  it("waits the whole ORIGIN_TIMEOUT_MS for the headers", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const id = crypto.randomUUID();
    const pending = edgeFetchWith({ ORIGIN_TIMEOUT_MS: String(timeoutMs) }, `/v1/hang/${id}`);
    await fakeOrigin.arrived(id);

    vi.advanceTimersByTime(timeoutMs - 1);
    await fakeOrigin.release(id);
    const res = await pending;

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ late: true });
  });

  it("does not cut a stream that outlives ORIGIN_TIMEOUT_MS once headers arrived", async () => {
    // Real time, a short timeout: fake timers run forward far enough would also fire timers the
    // Durable Objects set meanwhile (the metrics flush), from this test's context, which workerd refuses.
    const shortMs = 200;
    const id = crypto.randomUUID();
    const res = await edgeFetchWith({ ORIGIN_TIMEOUT_MS: String(shortMs) }, `/v1/stream/${id}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe("data: first\n\n");

    await new Promise((resolve) => setTimeout(resolve, shortMs * 4));
    expect(await fakeOrigin.release(id)).toEqual({ open: true });

    expect(await readToEnd(reader)).toBe("data: second\n\n");
  });
});

describe("when the origin dies mid-stream", () => {
  /** A streamed chat the fake origin holds after its first content, then breaks off as `how` says. */
  async function brokenStream(how: string) {
    const hold = crypto.randomUUID();
    const res = await edgeFetchWith({}, "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-test-hold": hold, "x-test-break": how, "x-request-id": `client-req:${hold}` },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    await fakeOrigin.release(hold);
    text += await readToEnd(reader);
    await res.settled();
    return { res, text, requestId: `client-req:${hold}` };
  }

  /** The `data:` payloads of an SSE body, in order. */
  const dataOf = (text: string) =>
    text
      .split("\n\n")
      .filter((event) => event.startsWith("data: "))
      .map((event) => event.slice(6));

  it("ends the client's stream with the regional tier's error event, and no [DONE]", async () => {
    const { res, text, requestId } = await brokenStream("1");

    expect(res.status).toBe(200);
    expect(text).toContain("twelve chars");
    expect(text).not.toContain("[DONE]");
    expect(text.endsWith("\n\n")).toBe(true);
    expect(JSON.parse(dataOf(text).at(-1)!)).toEqual({
      error: {
        message: "The regional origin failed mid-stream.",
        type: "upstream_error",
        code: "upstream_error",
        param: null,
        request_id: requestId,
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
  });

  it("leaves out half an event the origin sent before dying, so every event the client gets is whole", async () => {
    const { text } = await brokenStream("mid-event");

    expect(text).not.toMatch(/chat\.completion\.chu(?!nk)/);
    // Each parses: the half event did not swallow the error event.
    const events = dataOf(text).map((data) => JSON.parse(data) as { error?: { code: string } });
    expect(events.at(-1)?.error?.code).toBe("upstream_error");
  });
});

describe("when the edge is misconfigured", () => {
  it("answers 500 internal_error in the error shape for a bad ORIGIN_TIMEOUT_MS", async () => {
    const res = await edgeFetchWith({ ORIGIN_TIMEOUT_MS: "soon" }, "/v1/models");

    expect(res.status).toBe(500);
    const body = await errorBody(res);
    expect(body.error).toMatchObject({ type: "server_error", code: "internal_error" });
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  });
});
