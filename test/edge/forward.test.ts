import { describe, expect, it } from "vitest";
import { edgeFetch, fakeOrigin, readToEnd } from "./harness.ts";

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe("forwarding /v1/* to the regional origin", () => {
  it("sends method, path, query and body to the origin and returns its answer", async () => {
    const res = await edgeFetch("/v1/echo/chat?stream=false&tag=a%20b", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
      body: JSON.stringify({ model: "m", messages: [] }),
    });

    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.method).toBe("POST");
    expect(echo.url).toBe("/v1/echo/chat?stream=false&tag=a%20b");
    expect(echo.body).toBe('{"model":"m","messages":[]}');
    expect(echo.headers["content-type"]).toBe("application/json");
    expect(echo.headers.authorization).toBe("Bearer sk-test");
  });

  it("streams the response: the first event arrives while the origin is still sending", async () => {
    const id = crypto.randomUUID();
    const res = await edgeFetch(`/v1/stream/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");

    // The origin holds the second event until released, so a buffering edge never delivers the first.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe("data: first\n\n");
    expect(await fakeOrigin.release(id)).toEqual({ open: true });

    expect(await readToEnd(reader)).toBe("data: second\n\n");
  });

  it("streams the request body: the origin gets the first bytes before the client finished", async () => {
    const id = crypto.randomUUID();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();

    const pending = edgeFetch(`/v1/upload/${id}`, { method: "POST", body: readable });
    await writer.write(encoder.encode("part one, "));
    // A buffering edge would wait for the whole body; the origin would never see these bytes.
    await fakeOrigin.arrived(id);
    await writer.write(encoder.encode("part two"));
    await writer.close();

    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ body: "part one, part two" });
  });

  it("does not send hop-by-hop or proxy headers to the origin", async () => {
    const res = await edgeFetch("/v1/echo", {
      headers: {
        connection: "x-client-hop",
        "x-client-hop": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        te: "trailers",
        "x-end-to-end": "1",
      },
    });

    const { headers } = await res.json<Echo>();
    expect(headers["x-end-to-end"]).toBe("1");
    for (const name of ["connection", "x-client-hop", "keep-alive", "proxy-authorization", "te"]) {
      expect(headers, name).not.toHaveProperty(name);
    }
  });

  it("does not return the origin's hop-by-hop or proxy headers to the client", async () => {
    const res = await edgeFetch("/v1/hop-by-hop");

    expect(res.status).toBe(200);
    expect(res.headers.get("x-end-to-end")).toBe("1");
    for (const name of ["connection", "x-origin-hop", "keep-alive", "proxy-authenticate", "transfer-encoding"]) {
      expect(res.headers.get(name), name).toBeNull();
    }
    expect(await res.text()).toBe("ok");
  });

  it("passes the origin's own error responses through unchanged", async () => {
    const res = await edgeFetch("/v1/overloaded");

    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.json()).toMatchObject({ error: { code: "unavailable", message: "busy" } });
  });

  it("passes redirects on instead of following them", async () => {
    // `manual` so the test's own fetch does not follow it either.
    const res = await edgeFetch("/v1/redirect", { redirect: "manual" });

    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("/v1/echo");
  });
});
