import { connect } from "cloudflare:sockets";
import type { ErrorCode } from "../shared/contract/errors.ts";
import { GatewayError } from "../shared/error.ts";
import { fetchHeaders } from "./regional-client.ts";

/** How one call to one origin ended. */
export type AttemptResult =
  | {
      kind: "response";
      response: Response;
      /** Whether the answer counts against the origin's breaker (see `isOriginFault`). */
      originFault: boolean;
    }
  | {
      kind: "failed";
      /**
       * `connect`: the origin could not be connected to, so nothing was sent and the call
       * may go to another origin whatever its method; `timeout`: no headers in time;
       * `broken`: the connection failed after the request may have been sent.
       */
      failure: "connect" | "timeout" | "broken";
      error: GatewayError;
    };

/**
 * What Cloudflare answers in place of an origin it could not connect to (refused, TCP
 * timeout, unreachable, TLS handshake failed): nothing of the request was sent.
 */
const connectFailureStatuses = new Set([521, 522, 523, 525]);
/**
 * Error codes with which the regional tier reports that the *providers* failed (every
 * target failed, provider 5xx or timeout, provider breaker open). The origin did its job.
 */
const providerFailureCodes = new Set<ErrorCode | string>(["upstream_error", "upstream_timeout", "circuit_open", "unavailable"]);
/** A larger 5xx body is not Breakwater's error shape, and is not read to find out. */
const maxErrorBodyBytes = 64 * 1024;
/** How long the connect check after a failed fetch may take; no answer counts as not connectable. */
const connectCheckMs = 500;

/**
 * One call to `url`, bounded by `timeoutMs` until the response headers arrive (the body
 * may take as long as it needs). Never throws: the caller decides what each ending means.
 */
export async function attemptOrigin(url: string, init: RequestInit, timeoutMs: number): Promise<AttemptResult> {
  const fetched = await fetchHeaders(url, init, timeoutMs);
  if ("error" in fetched) {
    if (fetched.timedOut) return { kind: "failed", failure: "timeout", error: new GatewayError("upstream_timeout", { cause: fetched.error }) };
    // workerd throws the same "Network connection lost." for a refused connection and for
    // one reset after the request went out; only a fresh connect tells them apart.
    const failure = (await connectable(url)) ? "broken" : "connect";
    return { kind: "failed", failure, error: new GatewayError("origin_unreachable", { cause: fetched.error }) };
  }
  const { response } = fetched;
  if (connectFailureStatuses.has(response.status)) {
    await response.body?.cancel();
    return { kind: "failed", failure: "connect", error: new GatewayError("origin_unreachable", { cause: new Error(`origin answered ${response.status}`) }) };
  }
  return await judged(response);
}

/**
 * The rule for 5xx answers: one counts against the origin unless it is the regional
 * tier telling that the providers failed — it names the provider that served
 * (`x-breakwater-provider`/`x-breakwater-attempts`), or its body is Breakwater's error
 * shape with a provider-side code. A bare 502/503 from a load balancer, a 500
 * `internal_error` or an unreadable body is the origin's fault.
 */
async function judged(response: Response): Promise<AttemptResult> {
  if (response.status < 500) return { kind: "response", response, originFault: false };
  if (response.headers.has("x-breakwater-provider") || response.headers.has("x-breakwater-attempts")) return { kind: "response", response, originFault: false };
  const length = Number(response.headers.get("content-length") ?? 0);
  if (!(response.headers.get("content-type") ?? "").includes("json") || length > maxErrorBodyBytes) return { kind: "response", response, originFault: true };
  // Read whole to look at the code, then handed on as read.
  const text = await response.text().catch(() => null);
  const rebuilt = new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  return { kind: "response", response: rebuilt, originFault: text === null || !providerFailureCodes.has(errorCodeOf(text) ?? "") };
}

function errorCodeOf(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
    const error: unknown = body.error;
    if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
    return typeof error.code === "string" ? error.code : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a new TCP connection to the origin opens. */
async function connectable(url: string): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: ReturnType<typeof connect> | undefined;
  try {
    socket = connect({ hostname, port: Number(port || (protocol === "https:" ? 443 : 80)) });
    socket.opened.catch(() => {}); // a late failure after the timeout is of no interest
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("connect check timed out")), connectCheckMs);
    });
    await Promise.race([socket.opened, timeout]);
    return true;
  } catch {
    return false;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    socket?.close().catch(() => {});
  }
}
