import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import type { BreakerContext } from "../origins/breakers.ts";
import { settingsOf } from "../settings.ts";
import { postTransitions } from "../status/incident-post.ts";

/**
 * Reads the settings (parsed once per isolate; a bad one throws, so the request gets 500)
 * and puts the request's context on the Hono context once, as `requestContext`: every
 * later step reads it there and passes on the piece what it calls needs.
 */
export const requestContext = (): MiddlewareHandler<AppEnv> =>
  async function requestContext(c, next) {
    const settings = settingsOf(c.env);
    const requestId = c.get("requestId");
    const trace = c.get("trace");
    const traceId = trace.traceId;
    const waitUntil = (promise: Promise<unknown>): void => c.executionCtx.waitUntil(promise);
    // The incident post goes through breakers that report nothing, so its own failures post nothing more.
    const quiet: BreakerContext = { objects: c.env.ORIGIN_BREAKER, policy: settings.originBreaker, requestId, traceId, waitUntil };
    const { signingSecret, origins, originTimeoutMs } = settings;
    const breakers: BreakerContext = {
      ...quiet,
      onTransitions: (origin, transitions) =>
        waitUntil(
          postTransitions({ signingSecret, origins, originTimeoutMs, breakers: quiet, trace, requestId, traceId }, origin, transitions),
        ),
    };
    c.set("requestContext", {
      settings,
      requestId,
      traceId,
      trace,
      waitUntil,
      breakers,
      limiters: {
        objects: c.env.RATE_LIMITER,
        onError: settings.onLimiterError,
        authFailuresPerMinute: settings.authFailuresPerMinute,
        requestId,
        traceId,
        waitUntil,
      },
    });
    await next();
  };
