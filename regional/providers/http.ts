import http from "node:http";
import https from "node:https";
import { GatewayError } from "../../shared/error.ts";
import { withTraceHeaders } from "../observability/trace-context.ts";
import { chunksOf } from "../../shared/sse.ts";
import { poolAgents, poolSettings, type PoolAgents, type PoolSettings } from "./pool.ts";
import { createSocketSlots, poolExhausted } from "./socket-slots.ts";
import { byteLengthOf, type Transport, type UpstreamRequest, type UpstreamResponse } from "./transport.ts";
import type { CallContext } from "./types.ts";
import { transportError } from "./upstream-error.ts";

export type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";

/**
 * Node's own HTTP client over one provider's pool of keep-alive connections. It costs a
 * third of what `fetch` does per call on Node 20 (no web streams on the way), which is most
 * of the gateway's overhead. Waiting for a free connection is bounded on its own
 * (`overloaded`), so a full pool is never charged to the provider's deadlines.
 */
export function nodeTransport(overrides: Partial<PoolSettings> = {}): Transport {
  const pool = poolSettings(overrides);
  const agents = poolAgents(pool);
  const slots = createSocketSlots(pool);
  return async (request) => {
    const queueDeadline = Date.now() + pool.queueTimeoutMs;
    const release = await slots.acquire(request.signal);
    try {
      return await send(request, agents, release, () => poolExhausted(pool), Math.max(1, queueDeadline - Date.now()));
    } catch (error) {
      release();
      throw error;
    }
  };
}

/**
 * One request over the pool; the slot goes back when the request is done with its socket.
 * `onSent` waits for both the connection and the written request, in whichever order.
 */
function send(
  request: UpstreamRequest,
  agents: PoolAgents,
  release: () => void,
  exhausted: () => GatewayError,
  queueLeftMs: number,
): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const outgoing = (secure ? https : http).request(
      url,
      {
        method: request.method,
        headers:
          request.body === undefined ? request.headers : { ...request.headers, "content-length": String(byteLengthOf(request.body)) },
        agent: secure ? agents["https:"] : agents["http:"],
      },
      (incoming) => {
        settle();
        resolve(fromIncoming(incoming, detach));
      },
    );
    const fail = (error: unknown) => {
      settle();
      reject(error);
    };
    // The call's abort cuts the request (and a body not yet read whole); a request still queued in
    // the agent errors only once a socket frees, so the promise settles now. Our own listener rather
    // than http.request's `signal`: a body left to drain (see `bodyOf`) detaches from the abort.
    const onAbort = () => {
      outgoing.destroy();
      fail(request.signal.reason);
    };
    const detach = () => request.signal.removeEventListener("abort", onAbort);
    // Our slot is granted, but the agent may hold the request a moment longer.
    const queueTimer = setTimeout(() => {
      const error = exhausted();
      outgoing.destroy(error);
      fail(error);
    }, queueLeftMs);
    function settle() {
      clearTimeout(queueTimer);
    }
    outgoing.once("close", () => {
      detach();
      release();
    });
    // Every error, not just the first: the call's abort can destroy the request again after a failure.
    outgoing.on("error", fail);
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener("abort", onAbort, { once: true });

    const pending = new Set(["connect", "write"]);
    const done = (step: string) => {
      if (pending.delete(step) && pending.size === 0) request.onSent?.();
    };
    outgoing.once("finish", () => done("write"));
    outgoing.once("socket", (socket) => {
      clearTimeout(queueTimer);
      if (!socket.connecting) return done("connect");
      const connectMs = request.connectTimeoutMs;
      const timer =
        connectMs === undefined
          ? undefined
          : setTimeout(
              () =>
                outgoing.destroy(
                  new GatewayError("upstream_timeout", { message: `no connection within ${connectMs} ms`, transport: true }),
                ),
              connectMs,
            );
      socket.once(secure ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        done("connect");
      });
      socket.once("close", () => clearTimeout(timer));
    });
    const { body } = request;
    if (body === undefined || typeof body === "string" || body instanceof Uint8Array) return void outgoing.end(body);
    // Pieces are written as they are: the socket takes references, not copies.
    for (const piece of body) outgoing.write(piece);
    outgoing.end();
  });
}

/** `detach` stops the call's abort from cutting the response: it drains on its own from then on. */
function fromIncoming(incoming: http.IncomingMessage, detach: () => void): UpstreamResponse {
  // A reader hears the body's errors through its iteration; a body nobody reads (the call aborted
  // before it was read, or while it drains) must not raise an uncaught exception.
  incoming.on("error", ignore);
  return {
    status: incoming.statusCode ?? 0,
    header(name) {
      const value = incoming.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
    async json() {
      const parts: Buffer[] = [];
      for await (const part of incoming) parts.push(part as Buffer);
      return JSON.parse(Buffer.concat(parts).toString("utf8"));
    },
    body: bodyOf(incoming, detach),
  };
}

const ignore = () => {};

/**
 * How long a body left early may still drain: an SSE parser stops at `[DONE]`, a moment before
 * the upstream's end arrives, and cutting the response then would close a keep-alive
 * connection that is about to be reusable (one new connection per stream, measured).
 */
const drainGraceMs = 50;

/** The body's chunks; a reader that leaves early lets the rest drain for `drainGraceMs`, then cuts it. */
async function* bodyOf(incoming: http.IncomingMessage, detach: () => void): AsyncGenerator<Uint8Array> {
  let whole = false;
  try {
    for await (const part of incoming.iterator({ destroyOnReturn: false })) yield part as Uint8Array;
    whole = true;
  } finally {
    if (!whole && !incoming.destroyed) {
      detach();
      drainBriefly(incoming);
    }
  }
}

function drainBriefly(incoming: http.IncomingMessage): void {
  const cut = setTimeout(() => incoming.destroy(), drainGraceMs);
  const drained = () => clearTimeout(cut);
  incoming.once("end", drained).once("close", drained);
  incoming.once("error", drained);
  incoming.resume();
}

/** A transport over a `fetch` function: the mock's in-process upstream, or tests'. */
export function fetchTransport(send: typeof fetch): Transport {
  return async (request) => {
    // `fetch` tells nothing of its connection; the request counts as sent when handed over.
    request.onSent?.();
    const { body } = request;
    const response = await send(request.url, {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      ...(body === undefined || typeof body === "string" || body instanceof Uint8Array
        ? { body }
        : // Pieces go as a stream, not copied into one buffer first.
          { body: piecesStream(body), duplex: "half" as const }),
    });
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      json: () => response.json(),
      body: response.body ? chunksOf(response.body) : emptyBody(),
    };
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

function piecesStream(pieces: readonly Uint8Array<ArrayBuffer>[]): ReadableStream<Uint8Array<ArrayBuffer>> {
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      const piece = pieces[next++];
      if (piece) controller.enqueue(piece);
      else controller.close();
    },
  });
}

/**
 * Sends one call to a provider, carrying the active trace context (`traceparent`): a failure
 * to get any answer becomes a gateway error, `onSent` tells when the provider has the request (its first-byte deadline may start), the
 * deadline is released once headers arrive, and a non-2xx answer is turned into a gateway
 * error by the provider's own mapping.
 */
export async function callUpstream(
  provider: string,
  transport: Transport,
  request: Omit<UpstreamRequest, "signal" | "connectTimeoutMs" | "onSent">,
  context: CallContext,
  toError: (provider: string, response: UpstreamResponse) => Promise<GatewayError>,
): Promise<UpstreamResponse> {
  let response: UpstreamResponse;
  try {
    response = await transport({
      ...request,
      // The attempt's trace (or the request's incoming one) goes on to the provider; nothing of the client's headers does.
      headers: withTraceHeaders(request.headers, context.trace),
      signal: context.signal,
      connectTimeoutMs: context.connectTimeoutMs,
      onSent: context.onSent,
    });
  } catch (error) {
    throw transportError(provider, error, context.signal);
  }
  context.onHeaders?.();
  if (response.status < 200 || response.status > 299) throw await toError(provider, response);
  // Only from successes: a 429's own wait (Retry-After) decides its cool-down.
  context.onRateLimitHeaders?.((name) => response.header(name));
  return response;
}

/** The body as JSON, or a gateway error naming the provider. */
export async function jsonBody<T>(provider: string, response: UpstreamResponse, context: CallContext): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason ?? error;
    throw new GatewayError("upstream_error", { message: `${provider} answered with a malformed body.`, cause: error });
  }
}
