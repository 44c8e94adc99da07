import { GatewayError } from "../../shared/error.ts";
import { AttemptTimeout } from "./attempt-scope.ts";

/**
 * What a failed attempt means for routing:
 * - `retry`: transient (connect errors, resets, 408/429/5xx/529): retry, then fall back;
 * - `timeout`: our own timeout fired: fall back at once rather than wait on the same silent target;
 * - `next`: this target cannot serve it (our credentials, unknown model): fall back, no retry;
 * - `context_length`: fall back only to a target with a larger context window;
 * - `content_policy`: returned as given unless the route allows falling back;
 * - `client`: the client's fault, returned as is.
 */
export type FailureKind = "retry" | "timeout" | "next" | "context_length" | "content_policy" | "client";

const retryableStatus = new Set([408, 429, 500, 502, 503, 504, 529]);

export function classify(error: unknown): FailureKind {
  if (error instanceof AttemptTimeout) return "timeout";
  if (!(error instanceof GatewayError)) return "retry";
  if (error.code === "context_length_exceeded") return "context_length";
  if (error.code === "content_policy_violation") return "content_policy";
  const status = error.upstreamStatus;
  if (status !== undefined) {
    if (retryableStatus.has(status) || status >= 500) return "retry";
    if (status === 401 || status === 403 || status === 404) return "next";
    return "client";
  }
  // No provider status: the call never got an answer, or failed in flight.
  if (error.code === "upstream_error" || error.code === "upstream_timeout" || error.code === "unavailable") return "retry";
  return "client";
}

/** Failures that say the provider is unhealthy, as opposed to the request being wrong. */
export function countsAgainstProvider(kind: FailureKind): boolean {
  return kind === "retry" || kind === "timeout";
}

/** 529 (and Anthropic's overloaded_error) is about one model, not the whole provider. */
export function isModelOverload(error: unknown): boolean {
  return error instanceof GatewayError && error.upstreamStatus === 529;
}
