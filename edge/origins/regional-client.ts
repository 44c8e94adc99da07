import { coveredHeaderNames, edgeHeaderPrefix } from "../../shared/signing.ts";
import { traceHeaders, type Trace } from "../trace.ts";
import { endToEndHeaders } from "./hop-by-hop.ts";
import { signatureHeaders } from "./signature.ts";
import type { StreamedUpload } from "./streamed-upload.ts";

/** What the edge signs a call to an origin with. */
export interface SignedCall {
  requestId: string;
  /** Sent as `traceparent` (the edge's span) and the client's `tracestate`; not signed: regional reads it for correlation only. */
  trace: Trace;
  /** The body as read at the edge (signed by its hash), an upload streamed through (signed by its length), or null. */
  body: Uint8Array | StreamedUpload | null;
  /** The shared secret and the identity headers the edge vouches for. */
  signing: { secret: string; vouched: Record<string, string> };
}

/** Client credentials: they end at the edge, whose signature replaces them. */
const credentialHeaders = ["authorization", "x-api-key", "cookie"];

/**
 * The request as sent to an origin, signed: path and query (to append to the origin's
 * base URL, never resolved against it, so `//other.host/` cannot change the host) and
 * the fetch options. The signature does not cover the host, so one serves every origin.
 */
export async function signedRequest(request: Request, call: SignedCall): Promise<{ pathAndQuery: string; init: RequestInit }> {
  const { pathname, search } = new URL(request.url);
  const headers = forwardedHeaders(request.headers);
  headers.set("x-request-id", call.requestId);
  // The client's trace headers are replaced by the edge's (its span as parent), or dropped when invalid.
  headers.delete("traceparent");
  headers.delete("tracestate");
  for (const [name, value] of Object.entries(traceHeaders(call.trace))) headers.set(name, value);
  const covered: Record<string, string> = {};
  for (const name of coveredHeaderNames) {
    const value = headers.get(name);
    if (value !== null) covered[name] = value;
  }
  const signed = await signatureHeaders(call.signing.secret, {
    method: request.method,
    pathAndQuery: `${pathname}${search}`,
    body: call.body === null || call.body instanceof Uint8Array ? call.body : { streamedLength: call.body.length },
    vouched: call.signing.vouched,
    covered,
  });
  for (const [name, value] of Object.entries(signed)) headers.set(name, value);
  if (call.body instanceof Uint8Array) headers.set("content-length", String(call.body.byteLength));
  // An upload goes as it arrives; with a declared length, its fixed-length stream sends that Content-Length.
  const body = call.body === null || call.body instanceof Uint8Array ? call.body : call.body.stream;
  return { pathAndQuery: `${pathname}${search}`, init: { method: request.method, headers, body } };
}

/** Fetches `url`, waiting at most `timeoutMs` for the response headers (the body may take as long as it needs). */
export async function fetchHeaders(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ response: Response } | { error: unknown; timedOut: boolean }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return { response: await fetch(url, { ...init, redirect: "manual", signal: controller.signal }) };
  } catch (error) {
    return { error, timedOut: controller.signal.aborted };
  } finally {
    // Only the wait for headers is bounded: a long stream must not be cut by this timer.
    clearTimeout(timer);
  }
}

/** The origin's response as the client gets it: streamed, without hop-by-hop headers. */
export function proxied(upstream: Response): Response {
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: endToEndHeaders(upstream.headers),
  });
}

/** The client's end-to-end headers without its credentials or anything only the edge may set. */
export function forwardedHeaders(incoming: Headers): Headers {
  const headers = endToEndHeaders(incoming);
  for (const name of [...headers.keys()]) {
    if (name.startsWith(edgeHeaderPrefix) || credentialHeaders.includes(name)) headers.delete(name);
  }
  // The body is sent as read; its original framing does not apply any more.
  headers.delete("content-length");
  return headers;
}
