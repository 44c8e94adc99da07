import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { log } from "../../edge/log.ts";
import { edgeFetch } from "./harness.ts";

let lines: string[];

beforeEach(() => {
  lines = [];
  for (const method of ["log", "warn", "error"] as const)
    vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe("the edge's logs", () => {
  it("writes one JSON access line per request with regional's fields, the cache status and both ids", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await edgeFetch("/v1/embeddings", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "client-req:log", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ model: "m", input: `logged-${crypto.randomUUID()}` }),
    });
    await res.text();

    const access = parsed().find((line) => line.msg === "request" && line.request_id === "client-req:log");
    expect(access).toMatchObject({
      level: "info",
      method: "POST",
      route: "/v1/embeddings",
      status: 200,
      duration_ms: expect.any(Number),
      tenant: expect.any(String),
      provider: "fake",
      cache: "miss",
      request_id: "client-req:log",
      trace_id: traceId,
    });
    expect(access?.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("logs an unknown key's request without the key, its query secrets or its body", async () => {
    const key = "bw_leakedKeyNobodyKnows0123456789";
    const res = await edgeFetch(
      "/v1/chat/completions?api_key=sk-proj-queryKeyABCDEFGHIJ&password=hunter2-query",
      {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ model: "m", password: "hunter2-body", messages: [] }),
      },
      null,
    );
    await res.text();

    expect(res.status).toBe(401);
    const output = lines.join("\n");
    for (const secret of [key, "queryKeyABCDEFGHIJ", "hunter2"]) expect(output).not.toContain(secret);
    expect(parsed()).toContainEqual(expect.objectContaining({ msg: "request", status: 401, route: "/v1/chat/completions" }));
  });

  it("redacts credential-named fields at any depth and credentials inside free text", () => {
    log(
      "warn",
      "origin call failed for Bearer bw_inMessage0123456789",
      { requestId: "r", traceId: "t" },
      {
        headers: { Authorization: "Bearer abc.def", "x-api-key": "bw_headerKey0123456789" },
        nested: { deeper: { password: "hunter2", apiKey: "k" } },
        error: "POST https://user:s3cret@upstream.example/v1?token=tok123 answered: invalid key sk-ant-api03-ABCDEFGHIJKLMNOP",
        METRICS_API_KEY: "metrics-key-0123456789abcdef0123456789",
      },
    );

    const [line] = lines;
    for (const secret of ["bw_inMessage", "abc.def", "bw_headerKey", "hunter2", "s3cret", "tok123", "ABCDEFGHIJKLMNOP", "metrics-key"])
      expect(line).not.toContain(secret);
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      level: "warn",
      request_id: "r",
      trace_id: "t",
      headers: { Authorization: "[redacted]", "x-api-key": "[redacted]" },
      nested: { deeper: { password: "[redacted]", apiKey: "[redacted]" } },
      METRICS_API_KEY: "[redacted]",
    });
  });
});
