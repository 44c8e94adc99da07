import type { MiddlewareHandler } from "hono";
import type { AppEnv, Env } from "../env.ts";
import { callOrigin } from "../regional-client.ts";

/** Answers the request with the regional origin's response, streamed through. */
export const forward = (): MiddlewareHandler<AppEnv> =>
  async function forward(c) {
    return await callOrigin(c.req.raw, {
      origin: regionalOrigin(c.env),
      timeoutMs: originTimeoutMs(c.env),
      requestId: c.get("requestId"),
    });
  };

function regionalOrigin(env: Env): string {
  const origin = env.REGIONAL_ORIGIN;
  try {
    new URL(origin);
  } catch {
    throw new Error(`REGIONAL_ORIGIN is not a URL: ${JSON.stringify(origin)}`);
  }
  return origin;
}

function originTimeoutMs(env: Env): number {
  const ms = Number(env.ORIGIN_TIMEOUT_MS);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new Error(`ORIGIN_TIMEOUT_MS is not a positive number: ${JSON.stringify(env.ORIGIN_TIMEOUT_MS)}`);
  }
  return ms;
}
