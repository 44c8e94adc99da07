import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createKey, edgeFetch, fakeOrigin, readToEnd } from "./harness.ts";

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Whether the edge's signature held at the origin. */
  signed: boolean;
}

describe("forwarding /v1/* to the regional origin", () => {
  it("sends method, path, query and body to the origin, signed, and returns its answer", async () => {
    const res = await edgeFetch("/v1/echo/chat?stream=false&tag=a%20b", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [] }),
    });

    expect(res.status).toBe(200);
    const echo = await res.json<Echo>();
    expect(echo.method).toBe("POST");
    expect(echo.url).toBe("/v1/echo/chat?stream=false&tag=a%20b");
    expect(echo.body).toBe('{"model":"m","messages":[]}');
    expect(echo.headers["content-type"]).toBe("application/json");
    expect(echo.signed).toBe(true);
  });

  it("vouches for the key's tenant and never forwards the client's credentials", async () => {
    const { key, record } = await createKey();
    const presented: Record<string, string>[] = [{ authorization: `Bearer ${key}` }, { "x-api-key": key }];
    for (const credentials of presented) {
      const res = await edgeFetch("/v1/echo", { headers: { ...credentials, cookie: "session=1" } }, null);

      const echo = await res.json<Echo>();
      expect(echo.signed).toBe(true);
      expect(echo.headers).toMatchObject({
        "x-breakwater-key-id": record.key_id,
        "x-breakwater-tenant-id": record.tenant_id,
        "x-breakwater-key-prefix": key.slice(0, 11),
      });
      for (const name of ["authorization", "x-api-key", "cookie"]) expect(echo.headers, name).not.toHaveProperty(name);
      expect(JSON.stringify(echo.headers)).not.toContain(key.slice(11));
    }
  });

  it("names the origin that answered by its configured name, never its host", async () => {
    const res = await edgeFetch("/v1/echo");
    await res.body?.cancel();

    expect(res.headers.get("x-breakwater-origin")).toBe("regional");
    expect(JSON.stringify([...res.headers])).not.toContain(new URL(env.REGIONAL_ORIGIN ?? "").host);
  });

  it("vouches for the client's address Cloudflare saw, signed, and for nothing a client makes up", async () => {
    const res = await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": "203.0.113.9", "x-breakwater-client-ip": "198.51.100.1" } });
    const echo = await res.json<Echo>();
    expect(echo.signed).toBe(true);
    expect(echo.headers["x-breakwater-client-ip"]).toBe("203.0.113.9");

    const made = await (await edgeFetch("/v1/echo", { headers: { "cf-connecting-ip": "not an address, spoofed" } })).json<Echo>();
    expect(made.headers).not.toHaveProperty("x-breakwater-client-ip");
  });

  it("drops the edge-only headers a client sends and sets its own", async () => {
    const res = await edgeFetch("/v1/echo", {
      headers: { "x-breakwater-tenant-id": "someone-else", "X-Breakwater-Admin": "1", "x-breakwater-signature": "v1=00" },
    });

    const echo = await res.json<Echo>();
    expect(echo.signed).toBe(true);
    expect(echo.headers["x-breakwater-tenant-id"]).toBe("default-tenant");
    expect(echo.headers).not.toHaveProperty("x-breakwater-admin");
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

  it("reads a streamed request body whole, since its hash is signed, and sends it as one", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();

    const pending = edgeFetch("/v1/echo", { method: "POST", body: readable });
    await writer.write(encoder.encode("part one, "));
    await writer.write(encoder.encode("part two"));
    await writer.close();

    const echo = await (await pending).json<Echo>();
    expect(echo.body).toBe("part one, part two");
    expect(echo.headers["content-length"]).toBe("18");
    expect(echo.signed).toBe(true);
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
