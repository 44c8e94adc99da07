import { describe, expect, it } from "vitest";
import type { Env } from "../../edge/env.ts";
import { edgeFetch, edgeFetchWith, errorBody } from "./harness.ts";

interface Echo {
  headers: Record<string, string>;
  signed: boolean;
}

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentId = "00f067aa0ba902b7";

async function echoed(headers: Record<string, string>): Promise<Echo> {
  const res = await edgeFetch("/v1/echo", { headers });
  expect(res.status).toBe(200);
  return await res.json<Echo>();
}

describe("W3C trace context at the edge", () => {
  it("continues the client's trace to the origin under a span of its own, with the client's tracestate", async () => {
    const echo = await echoed({ traceparent: `00-${traceId}-${parentId}-01`, tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" });

    const [, forwardedTrace, edgeSpan, flags] =
      /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(echo.headers.traceparent ?? "") ?? [];
    expect(forwardedTrace).toBe(traceId);
    expect(edgeSpan).not.toBe(parentId);
    expect(edgeSpan).not.toBe("0000000000000000");
    expect(flags).toBe("01");
    expect(echo.headers.tracestate).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    // Not signed, and the call still verifies: regional reads it for correlation only.
    expect(echo.signed).toBe(true);
  });

  it("keeps an unsampled client trace unsampled", async () => {
    const echo = await echoed({ traceparent: `00-${traceId}-${parentId}-00` });

    expect(echo.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });

  it.each([
    ["another version", `01-${traceId}-${parentId}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${parentId}-01`],
    ["an all-zero parent id", `00-${traceId}-${"0".repeat(16)}-01`],
    ["upper-case hex", `00-${traceId.toUpperCase()}-${parentId}-01`],
    ["a short trace id", `00-${traceId.slice(2)}-${parentId}-01`],
    ["trailing fields", `00-${traceId}-${parentId}-01-extra`],
    ["garbage", "not a traceparent"],
  ])("starts a new trace when the client's traceparent has %s, and drops its tracestate", async (_, traceparent) => {
    const echo = await echoed({ traceparent, tracestate: "congo=t61rcWkgMzE" });

    expect(echo.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(echo.headers.traceparent).not.toContain(traceId);
    expect(echo.headers.tracestate).toBeUndefined();
  });

  it("starts a sampled trace for a request without one", async () => {
    const echo = await echoed({});

    expect(echo.headers.traceparent).toMatch(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$/);
  });

  it("samples the share TRACE_SAMPLE_RATIO of the traces it starts, and keeps a client's decision", async () => {
    const flagsOf = async (bindings: Partial<Env>, headers: Record<string, string> = {}) => {
      const response = await edgeFetchWith(bindings, "/v1/echo", { headers });
      expect(response.status).toBe(200);
      return /-([0-9a-f]{2})$/.exec((await response.json<Echo>()).headers.traceparent ?? "")?.[1];
    };
    expect(await flagsOf({ TRACE_SAMPLE_RATIO: "0" })).toBe("00");
    expect(await flagsOf({ TRACE_SAMPLE_RATIO: "0" }, { traceparent: `00-${traceId}-${parentId}-01` })).toBe("01");
    expect(await flagsOf({ TRACE_SAMPLE_RATIO: "1" }, { traceparent: `00-${traceId}-${parentId}-00` })).toBe("00");
    const flags = await Promise.all(Array.from({ length: 200 }, () => flagsOf({ TRACE_SAMPLE_RATIO: "0.25" })));
    const sampled = flags.filter((flag) => flag === "01").length;
    // 200 draws at 1 in 4: 50 expected, below 25 or above 80 once in more than a million runs.
    expect(sampled).toBeGreaterThan(25);
    expect(sampled).toBeLessThan(80);
    expect(flags.every((flag) => flag === "00" || flag === "01")).toBe(true);
  });

  it("takes no request with a TRACE_SAMPLE_RATIO that is not a share from 0 to 1 (a bad setting)", async () => {
    for (const ratio of ["10%", "1.5", "-0.1"]) {
      const response = await edgeFetchWith({ TRACE_SAMPLE_RATIO: ratio }, "/v1/echo");
      expect(response.status).toBe(500);
    }
  });

  it("puts the trace id in the edge's own error bodies beside the request id", async () => {
    const res = await edgeFetch(
      "/v1/echo",
      { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
      "bw_notAKeyTheOriginKnows0123456789",
    );

    expect(res.status).toBe(401);
    const body = await errorBody(res);
    expect(body.error.trace_id).toBe(traceId);
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  });
});
