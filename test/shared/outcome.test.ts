import { describe, expect, it } from "vitest";
import { GatewayError } from "../../shared/error.ts";
import { AttemptTimeout } from "../../shared/resilience/deadline.ts";
import { classifyFailure, outcomeOfStatus } from "../../shared/resilience/outcome.ts";

const upstream = (status: number) => new GatewayError("upstream_error", { upstreamStatus: status });

describe("outcome classification", () => {
  it("blames the provider only for its own faults", () => {
    expect(classifyFailure(upstream(500), false)).toEqual({ outcome: "provider_fault", transport: false });
    expect(classifyFailure(upstream(529), false).outcome).toBe("provider_fault");
    expect(classifyFailure(upstream(408), false).outcome).toBe("provider_fault");
    expect(classifyFailure(new AttemptTimeout("no first byte"), false).outcome).toBe("provider_fault");
    expect(classifyFailure(new GatewayError("upstream_error", { message: "refused", transport: true }), false)).toEqual({
      outcome: "provider_fault",
      transport: true,
    });
  });

  it("calls a 429 rate limited, a 4xx the client's fault", () => {
    expect(classifyFailure(new GatewayError("rate_limited", { upstreamStatus: 429, retryAfterS: 1 }), false).outcome).toBe("rate_limited");
    // Our account cannot pay: a cool-down, not a broken provider, not the client's fault.
    expect(classifyFailure(new GatewayError("upstream_error", { upstreamStatus: 402 }), false).outcome).toBe("rate_limited");
    expect(classifyFailure(new GatewayError("invalid_request", { upstreamStatus: 400 }), false).outcome).toBe("client_fault");
    expect(classifyFailure(new GatewayError("invalid_request", { message: "cannot be serialised" }), false).outcome).toBe("client_fault");
  });

  it("a client that left wins over anything the attempt then saw", () => {
    expect(classifyFailure(upstream(500), true).outcome).toBe("client_gone");
    expect(classifyFailure(new DOMException("aborted", "AbortError"), true).outcome).toBe("client_gone");
  });

  it("our own capacity and bugs are local", () => {
    expect(classifyFailure(new GatewayError("overloaded"), false).outcome).toBe("local");
    expect(classifyFailure(new RangeError("Maximum call stack size exceeded"), false).outcome).toBe("local");
    expect(classifyFailure(new TypeError("x is undefined"), false).outcome).toBe("local");
  });

  it("maps statuses for answers that are not errors", () => {
    expect([200, 302, 404, 429, 503].map(outcomeOfStatus)).toEqual(["ok", "ok", "client_fault", "rate_limited", "provider_fault"]);
  });
});
