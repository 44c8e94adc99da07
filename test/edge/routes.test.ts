import { describe, expect, it } from "vitest";
import { edgeFetch, edgeFetchWith, errorBody } from "./harness.ts";

describe("edge routes", () => {
  it("answers GET /health/live with 200 ok", async () => {
    const res = await edgeFetch("/health/live");

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it.each(["/", "/v2/chat/completions", "/health/livez", "/admin/tenants"])(
    "answers an unknown route (%s) with 404 in the error shape, with the request's ids",
    async (path) => {
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const res = await edgeFetch(path, { headers: { "x-request-id": "client-req:0404", traceparent } });

      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-request-id")).toBe("client-req:0404");
      expect(await errorBody(res)).toEqual({
        error: {
          message: `No route for GET ${path}.`,
          type: "invalid_request_error",
          code: "not_found",
          param: null,
          request_id: "client-req:0404",
          trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
        },
      });
    },
  );

  it("still answers liveness and unknown routes when a setting is bad: only what reads the settings fails", async () => {
    const bad = { ORIGIN_TIMEOUT_MS: "soon" };

    expect((await edgeFetchWith(bad, "/health/live")).status).toBe(200);
    expect((await edgeFetchWith(bad, "/admin/tenants")).status).toBe(404);
    expect((await edgeFetchWith(bad, "/health/ready")).status).toBe(500);
  });
});
