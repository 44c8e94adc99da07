import http from "node:http";
import https from "node:https";
import { GatewayError } from "../../shared/error.ts";
import { chunksOf } from "../../shared/sse.ts";
import type { CallContext } from "./types.ts";
import { transportError } from "./upstream-error.ts";

export interface UpstreamRequest {
  url: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  headers: Record<string, string>;
  /** Absent for GET and DELETE. */
  body?: string;
  signal: AbortSignal;
  /** Fails the call when no connection is made in time; a reused connection is not timed. */
  connectTimeoutMs?: number;
}

export interface UpstreamResponse {
  status: number;
  header(name: string): string | null;
  /** The whole body as JSON; rejects on a malformed body. */
  json(): Promise<unknown>;
  /** The body as it arrives; leaving the loop early closes the connection. */
  body: AsyncIterable<Uint8Array>;
}

/** How adapters reach a provider: HTTP in production, in process for the mock. */
export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/**
 * Node's own HTTP client over keep-alive agents. It costs a third of what `fetch` does per
 * call on Node 20 (no web streams on the way), which is most of the gateway's overhead.
 */
export function nodeTransport(): Transport {
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" }),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" }),
  };
  return (request) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const url = new URL(request.url);
      const secure = url.protocol === "https:";
      const outgoing = (secure ? https : http).request(
        url,
        {
          method: request.method,
          headers: request.body === undefined ? request.headers : { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
          agent: secure ? agents["https:"] : agents["http:"],
          signal: request.signal,
        },
        (incoming) => resolve(fromIncoming(incoming)),
      );
      outgoing.once("error", reject);
      const connectMs = request.connectTimeoutMs;
      if (connectMs !== undefined) {
        outgoing.once("socket", (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(() => outgoing.destroy(new GatewayError("upstream_timeout", { message: `no connection within ${connectMs} ms` })), connectMs);
          socket.once(secure ? "secureConnect" : "connect", () => clearTimeout(timer));
          socket.once("close", () => clearTimeout(timer));
        });
      }
      outgoing.end(request.body);
    });
}

function fromIncoming(incoming: http.IncomingMessage): UpstreamResponse {
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
    body: incoming,
  };
}

/** A transport over a `fetch` function: the mock's in-process upstream, or tests'. */
export function fetchTransport(send: typeof fetch): Transport {
  return async (request) => {
    const response = await send(request.url, { method: request.method, headers: request.headers, body: request.body, signal: request.signal });
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      json: () => response.json(),
      body: response.body ? chunksOf(response.body) : emptyBody(),
    };
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

/**
 * Sends one call to a provider: a failure to get any answer becomes a gateway error, the
 * first-byte deadline is released once headers arrive, and a non-2xx answer is turned into
 * a gateway error by the provider's own mapping.
 */
export async function callUpstream(
  provider: string,
  transport: Transport,
  request: Omit<UpstreamRequest, "signal" | "connectTimeoutMs">,
  context: CallContext,
  toError: (provider: string, response: UpstreamResponse) => Promise<GatewayError>,
): Promise<UpstreamResponse> {
  let response: UpstreamResponse;
  try {
    response = await transport({ ...request, signal: context.signal, connectTimeoutMs: context.connectTimeoutMs });
  } catch (error) {
    throw transportError(provider, error, context.signal);
  }
  context.onHeaders?.();
  if (response.status < 200 || response.status > 299) throw await toError(provider, response);
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
