import { describe, expect, it } from "vitest";
import { z } from "zod";
import { chatCompletionRequest } from "../../shared/contract/chat.ts";
import { errorCodes } from "../../shared/contract/errors.ts";
import { errorResponse, GatewayError } from "../../shared/error.ts";
import { requestIdFrom } from "../../shared/request-id.ts";
import { parseOrThrow } from "../../shared/validation.ts";

describe("GatewayError", () => {
  it("answers in OpenAI's error shape with the status its code maps to", async () => {
    const response = errorResponse(new GatewayError("rate_limited", { retryAfterS: 2.2 }), "req-12345678");
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
    expect(response.headers.get("x-request-id")).toBe("req-12345678");
    expect(await response.json()).toEqual({
      error: { message: "Rate limit exceeded.", type: "rate_limit_error", code: "rate_limited", param: null, request_id: "req-12345678" },
    });
  });

  it("maps the documented classes of failure to their statuses", () => {
    const statuses = Object.fromEntries(Object.entries(errorCodes).map(([code, { status }]) => [code, status]));
    expect(statuses).toMatchObject({
      invalid_request: 400,
      invalid_api_key: 401,
      forbidden: 403,
      not_found: 404,
      request_timeout: 408,
      payload_too_large: 413,
      rate_limited: 429,
      upstream_error: 502,
      unavailable: 503,
      circuit_open: 503,
      upstream_timeout: 504,
    });
  });
});

describe("parseOrThrow", () => {
  it("names the first bad field the way OpenAI does", () => {
    const attempt = () =>
      parseOrThrow(chatCompletionRequest, { model: "m", messages: [{ role: "user", content: "a" }, { role: "robot" }] });
    expect(attempt).toThrowError(GatewayError);
    try {
      attempt();
    } catch (error) {
      expect((error as GatewayError).param).toBe("messages[1].role");
      expect((error as GatewayError).status).toBe(400);
    }
  });

  it("keeps fields the schema does not know", () => {
    const parsed = parseOrThrow(chatCompletionRequest, {
      model: "m",
      messages: [{ role: "user", content: "a", extra: 1 }],
      future_option: true,
    });
    expect(parsed).toMatchObject({ future_option: true, messages: [{ extra: 1 }] });
  });

  it("reports a missing body field", () => {
    expect(() => parseOrThrow(z.object({ model: z.string() }), {})).toThrowError(/model/);
  });
});

describe("requestIdFrom", () => {
  it("keeps a safe id and replaces an unsafe or missing one", () => {
    expect(requestIdFrom("abc-1234_5678")).toBe("abc-1234_5678");
    expect(requestIdFrom("bad id with spaces")).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom("x".repeat(500))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
