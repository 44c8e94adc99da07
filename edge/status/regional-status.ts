import { readUpTo } from "../../shared/read-body.ts";
import type { OperatorStatus, PublicStatus } from "../../shared/status/types.ts";
import type { RequestIds } from "../log.ts";
import type { BreakerContext } from "../origins/breakers.ts";
import { withFailover } from "../origins/failover.ts";
import type { Origin } from "../origins/list.ts";
import { signatureHeaders } from "../origins/signature.ts";
import { traceHeaders, type Trace } from "../trace.ts";

/** What a signed call to regional's status endpoints needs, handed down from the request context. */
export interface StatusCallContext extends RequestIds {
  signingSecret: string;
  origins: Origin[];
  originTimeoutMs: number;
  breakers: BreakerContext;
  trace: Trace;
}

/** A status page is read often and waited on by nobody important: it never waits long. */
const statusTimeoutMs = 3_000;
/** Routes, providers and a day of incidents fit in far less; a peer sending more is not read on. */
const maxStatusBytes = 512 * 1024;

/** Regional's public status (`GET /internal/status`); throws when no origin answers it. */
export async function regionalPublicStatus(context: StatusCallContext): Promise<PublicStatus> {
  const status = await signedGet(context, "/internal/status");
  if (!isObject(status, "status")) throw new Error("regional's /internal/status is not a status");
  return status as unknown as PublicStatus;
}

/** Regional's operator status (`GET /internal/status/operator`); throws when no origin answers it. */
export async function regionalOperatorStatus(context: StatusCallContext): Promise<OperatorStatus> {
  const status = await signedGet(context, "/internal/status/operator");
  if (!isObject(status, "status.operator") || !isObject(status.public, "status"))
    throw new Error("regional's /internal/status/operator is not an operator status");
  return status as unknown as OperatorStatus;
}

/** A signed GET through the origins' breakers and failover (as key lookups go), its JSON body read up to a bound. */
async function signedGet(context: StatusCallContext, path: string): Promise<unknown> {
  const headers = await signatureHeaders(context.signingSecret, { method: "GET", pathAndQuery: path, body: null, vouched: {} });
  const { response } = await withFailover(context.breakers, context.origins, {
    pathAndQuery: path,
    init: { headers: { ...headers, ...traceHeaders(context.trace), "x-request-id": context.requestId } },
    timeoutMs: Math.min(statusTimeoutMs, context.originTimeoutMs),
  });
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw new Error(`regional's ${path} answered ${response.status}`);
  }
  const read = await readUpTo(response.body, maxStatusBytes);
  if (!read.complete) {
    await read.body.cancel();
    throw new Error(`regional's ${path} sent more than ${maxStatusBytes} bytes`);
  }
  return JSON.parse(new TextDecoder().decode(read.bytes));
}

function isObject(value: unknown, object: string): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && (value as { object?: unknown }).object === object;
}
