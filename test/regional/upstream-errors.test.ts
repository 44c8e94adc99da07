import { describe, expect, it } from "vitest";
import {
  accountCoolDownS,
  resetSeconds,
  shouldRetryHeader,
  upstreamErrorFrom,
  waitFromHeaders,
} from "../../regional/providers/upstream-error.ts";
import { classifyFailure } from "../../shared/resilience/outcome.ts";

/** A response with only a status and headers, as the error mapping reads it. */
const answer = (status: number, headers: Record<string, string>) => ({
  status,
  header: (name: string) => headers[name.toLowerCase()] ?? null,
});

describe("how long an upstream asks to wait", () => {
  // https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers: sample values 1s and 6m0s.
  it.each([
    ["1s", 1],
    ["6m0s", 360],
    ["12ms", 0.012],
    ["1h2m3.5s", 3723.5],
    ["7.66s", 7.66],
    ["20", 20],
    [" 2m ", 120],
    ["soon", undefined],
    ["6x", undefined],
    ["", undefined],
  ])("reads the reset duration %j as %s seconds", (value, seconds) => {
    expect(resetSeconds(value)).toBe(seconds);
  });

  it("takes the reset of the exhausted dimension, else the longest reset reported", () => {
    const tokensOut = {
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "6m0s",
    };
    expect(waitFromHeaders(answer(429, tokensOut))).toBe(360);
    const requestsOut = { ...tokensOut, "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "1200" };
    expect(waitFromHeaders(answer(429, requestsOut))).toBe(1);
    expect(waitFromHeaders(answer(429, { "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "30s" }))).toBe(30);
  });

  it("prefers retry-after-ms, then Retry-After, and reads x-ratelimit-reset-* only on a 429", () => {
    const reset = { "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s" };
    expect(waitFromHeaders(answer(429, { ...reset, "retry-after": "7" }))).toBe(7);
    expect(waitFromHeaders(answer(429, { ...reset, "retry-after": "7", "retry-after-ms": "250" }))).toBe(0.25);
    expect(waitFromHeaders(answer(503, reset))).toBeUndefined();
    expect(waitFromHeaders(answer(429, {}))).toBeUndefined();
  });

  it("reads x-should-retry as true, false or unsaid", () => {
    expect(shouldRetryHeader(answer(500, { "x-should-retry": "true" }))).toBe(true);
    expect(shouldRetryHeader(answer(500, { "x-should-retry": "false" }))).toBe(false);
    expect(shouldRetryHeader(answer(500, { "x-should-retry": "maybe" }))).toBeUndefined();
    expect(shouldRetryHeader(answer(500, {}))).toBeUndefined();
  });
});

describe("provider errors as outcome classes", () => {
  it.each([
    [402, {}],
    [429, { code: "insufficient_quota", type: "insufficient_quota" }],
    [429, { code: "rate_limit_error", type: "rate_limit_error", detailCode: "enforced_spend_limit_reached" }],
    [402, { code: "billing_error", type: "billing_error" }],
  ])("takes a %i with %j as an account that cannot pay: rate_limited, cooled down long, never retried", (status, fields) => {
    const error = upstreamErrorFrom("p", status, fields, 5, true);
    expect(error).toMatchObject({ upstreamStatus: status, retryAfterS: accountCoolDownS, retry: false });
    expect(classifyFailure(error, false).outcome).toBe("rate_limited");
  });

  it("keeps a plain 429 a rate limit with its own wait, and passes the provider's retry hint on", () => {
    const error = upstreamErrorFrom("p", 429, { code: "rate_limit_exceeded" }, 2, false);
    expect(error).toMatchObject({ code: "rate_limited", upstreamStatus: 429, retryAfterS: 2, retry: false });
    expect(upstreamErrorFrom("p", 500, {}, undefined).retry).toBeUndefined();
  });
});
