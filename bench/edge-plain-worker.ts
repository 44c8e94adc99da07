/**
 * The bench's baseline Worker: the edge's forwarding (body read whole, signed, streamed back)
 * with a fixed identity instead of auth and rate limits. `bench/edge-auth.ts` runs it beside
 * the real edge so the difference between the two is what auth and the limiter cost.
 * Never deployed: only `wrangler dev` with a config the bench writes.
 */
import { Hono } from "hono";
import { fetchHeaders, proxied, signedRequest } from "../edge/origins/regional-client.ts";
import { traceOf } from "../edge/trace.ts";
import { GatewayError, errorResponse } from "../shared/error.ts";
import { requestIdFrom } from "../shared/request-id.ts";
import { identityHeaders } from "../shared/signing.ts";

interface PlainEnv {
  REGIONAL_ORIGIN: string;
  EDGE_SIGNING_SECRET: string;
  BENCH_KEY_ID: string;
  BENCH_KEY_PREFIX: string;
  BENCH_TENANT_ID: string;
}

const app = new Hono<{ Bindings: PlainEnv }>();

app.get("/health/live", (c) => c.json({ status: "ok" }));
app.all("/v1/*", async (c) => {
  const requestId = requestIdFrom(c.req.header("x-request-id"));
  const body = c.req.raw.body ? new Uint8Array(await c.req.arrayBuffer()) : null;
  // One origin, no breaker, no failover: the plain forwarding the edge is measured against.
  const outgoing = await signedRequest(c.req.raw, {
    requestId,
    trace: traceOf(c.req.header("traceparent"), c.req.header("tracestate")),
    body,
    signing: {
      secret: c.env.EDGE_SIGNING_SECRET,
      vouched: {
        [identityHeaders.keyId]: c.env.BENCH_KEY_ID,
        [identityHeaders.keyPrefix]: c.env.BENCH_KEY_PREFIX,
        [identityHeaders.tenantId]: c.env.BENCH_TENANT_ID,
      },
    },
  });
  const result = await fetchHeaders(`${c.env.REGIONAL_ORIGIN}${outgoing.pathAndQuery}`, outgoing.init, 120_000);
  if ("error" in result) throw new GatewayError(result.timedOut ? "upstream_timeout" : "origin_unreachable", { cause: result.error });
  const response = proxied(result.response);
  response.headers.set("x-request-id", requestId);
  return response;
});
app.onError((error) => errorResponse(error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error }), null));

export default app;
