import { GatewayError } from "../shared/error.ts";
import { endToEndHeaders } from "./hop-by-hop.ts";

export interface OriginCall {
  /** Base URL of the origin; the request's path and query are appended to it. */
  origin: string;
  /** How long to wait for the response headers; the body may take as long as it needs. */
  timeoutMs: number;
  requestId: string;
}

/**
 * Sends `request` to the regional origin and returns the origin's response. Bodies are
 * streamed both ways, never buffered. Throws `GatewayError` `upstream_timeout` when no
 * response headers arrive within `timeoutMs`, `origin_unreachable` when the origin
 * cannot be reached.
 */
export async function callOrigin(request: Request, call: OriginCall): Promise<Response> {
  const headers = endToEndHeaders(request.headers);
  headers.set("x-request-id", call.requestId);

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), call.timeoutMs);
  let upstream: Response;
  try {
    upstream = await fetch(originUrl(call.origin, request.url), {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (error) {
    if (controller.signal.aborted) throw new GatewayError("upstream_timeout", { cause: error });
    throw new GatewayError("origin_unreachable", { cause: error });
  } finally {
    // Only the wait for headers is bounded: a long stream must not be cut by this timer.
    clearTimeout(timer);
  }

  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: endToEndHeaders(upstream.headers),
  });
}

/**
 * The origin URL for an incoming URL: the origin's base plus the incoming path and query.
 * Concatenated rather than resolved, so a path like `//other.host/` cannot change the host.
 */
function originUrl(origin: string, incoming: string): string {
  const { pathname, search } = new URL(incoming);
  return `${origin.replace(/\/+$/, "")}${pathname}${search}`;
}
