import type { MiddlewareHandler } from "hono";
import { budgetCrossedHeader } from "../../shared/contract/budgets.ts";
import { clientIpHeader, identityHeaders } from "../../shared/signing.ts";
import type { AppEnv } from "../context.ts";
import { endingInErrorEvent } from "../origins/broken-stream.ts";
import { withFailover } from "../origins/failover.ts";
import { originsFor } from "../origins/list.ts";
import { proxied, signedRequest } from "../origins/regional-client.ts";

/**
 * Answers the request with a regional origin's response, signed on the way out and
 * streamed back: the first origin for the client's continent whose breaker lets it
 * through, the next one when it cannot be connected to (see `withFailover`). The answer
 * names its origin in `x-breakwater-origin` (its configured name, never its host); the
 * client's address (Cloudflare's `cf-connecting-ip`) goes along in a signed header. A
 * client that disconnects aborts the origin call, while it waits for headers
 * (`request.signal`, wrangler.toml's `enable_request_signal`) and mid-stream (the body's
 * cancellation); a stream whose origin dies ends with an error event. An upload is streamed
 * to one origin only (see `bodyOnce`): it cannot be sent twice.
 */
export const forward = (): MiddlewareHandler<AppEnv> =>
  async function forward(c) {
    const context = c.get("requestContext");
    const { settings, requestId, breakers } = context;
    const key = c.get("key");
    const upload = c.get("upload");
    const outgoing = await signedRequest(c.req.raw, {
      requestId,
      trace: context.trace,
      body: upload ?? c.get("body"),
      signing: {
        secret: settings.signingSecret,
        vouched: {
          [identityHeaders.keyId]: key.key_id,
          [identityHeaders.keyPrefix]: key.prefix,
          [identityHeaders.tenantId]: key.tenant_id,
          ...clientIpOf(c.req.header("cf-connecting-ip")),
          ...budgetCrossedOf(c.get("budgetCrossed")),
        },
      },
    });
    const continent = c.req.raw.cf?.continent;
    const origins = originsFor(settings.origins, typeof continent === "string" ? continent : undefined);
    const { response, origin } = await withFailover(breakers, origins, {
      ...outgoing,
      timeoutMs: settings.originTimeoutMs,
      // An upload past the limit ends the call as a client leaving does: no origin is blamed for it.
      signal: upload ? AbortSignal.any([c.req.raw.signal, upload.overflow]) : c.req.raw.signal,
      bodyOnce: upload !== null,
    }).catch((error: unknown) => {
      // The upload grew past the limit while it streamed: that, not the call it cut, is the answer.
      if (upload?.overflow.aborted) throw upload.overflow.reason;
      throw error;
    });
    const answer = endingInErrorEvent(proxied(response), context);
    answer.headers.set("x-breakwater-origin", origin.name);
    return answer;
  };

/** The budget thresholds this request crossed (set by the rate limiter), vouched for so regional audits them; a client's own was stripped. */
function budgetCrossedOf(crossed: string | undefined): Record<string, string> {
  return crossed ? { [budgetCrossedHeader]: crossed } : {};
}

/** The client address Cloudflare saw, as a vouched header; nothing when there is none (tests, `wrangler dev`). */
function clientIpOf(address: string | undefined): Record<string, string> {
  const trimmed = address?.trim();
  // An address has no spaces and is short; anything else is not worth vouching for.
  return trimmed && /^[0-9A-Fa-f:.]{2,45}$/.test(trimmed) ? { [clientIpHeader]: trimmed } : {};
}
