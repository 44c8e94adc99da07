import { GatewayError } from "../../shared/error.ts";
import { untilAborted, type AttemptScope } from "../../shared/resilience/deadline.ts";
import { parseSse, type SseEvent } from "../../shared/sse.ts";
import type { RequestBody, UpstreamResponse } from "../providers/transport.ts";
import type { ForwardedEndpoint } from "../providers/types.ts";
import { callContext, type RequestContext } from "./chat-attempts.ts";
import type { PlannedTarget } from "./plan.ts";
import type { AttemptCall, TargetScope } from "./router.ts";

/** The request's body for one target, its `model` the target's own name (in a multipart upload: only that part's value replaced). */
export type BodyFor = (model: string) => Promise<{ body: RequestBody; contentType: string }>;

export interface Forwarding {
  endpoint: ForwardedEndpoint;
  bodyFor: BodyFor;
  /** What the client takes back: `text/event-stream` for a stream. */
  accept: string;
  context: RequestContext;
}

/** A whole answer, as the provider sent it. */
export interface WholeAnswer {
  contentType: string;
  /** Its own buffer, not a view into a pool. */
  bytes: Uint8Array<ArrayBuffer>;
}

/** An answer whose first part arrived; the route sends the rest on and closes `scope` when it ends. */
export interface OpenAnswer<T> {
  contentType: string;
  head: T[];
  rest: AsyncIterator<T>;
  /** The upstream already ended while the head was read. */
  ended: boolean;
  scope: AttemptScope;
}

async function forwarded(target: PlannedTarget, scope: TargetScope, how: Forwarding, onHeaders?: () => void): Promise<UpstreamResponse> {
  const { body, contentType } = await how.bodyFor(target.model);
  const call = { endpoint: how.endpoint, body, contentType, accept: how.accept };
  const response = await target.provider.forward?.(call, callContext(target, scope, how.context, onHeaders));
  // The planner leaves out targets whose adapter forwards nothing; reaching here is a bug of ours.
  if (!response) throw new Error(`${target.provider.name} forwards no ${how.endpoint} requests`);
  return response;
}

/** A failure reading the body: the client's leaving or our deadline as they are, anything else the provider's. */
function readFailure(provider: string, signal: AbortSignal, error: unknown): unknown {
  if (error instanceof GatewayError) return error;
  if (signal.aborted) return signal.reason ?? error;
  return new GatewayError("upstream_error", { message: `${provider} broke off its answer.`, cause: error });
}

/** Reads the whole answer within the attempt, so a body cut short is retried or fallen back from like any fault. */
export function wholeAttempt(how: Forwarding): AttemptCall<WholeAnswer> {
  return async (target, scope) => {
    const response = await forwarded(target, scope, how);
    const parts: Uint8Array[] = [];
    try {
      for await (const part of response.body) parts.push(part);
    } catch (error) {
      throw readFailure(target.provider.name, scope.signal, error);
    }
    return { contentType: response.header("content-type") ?? "application/json", bytes: new Uint8Array(Buffer.concat(parts)) };
  };
}

/**
 * Reads until `isContent` holds (or the answer ends) within the attempt: nothing reaches the
 * client before that, so a target that fails or stays silent here is fallen back from. The
 * first-token deadline runs from the headers to that point.
 */
function openAttempt<T>(
  how: Forwarding,
  partsOf: (provider: string, response: UpstreamResponse, signal: AbortSignal) => AsyncIterable<T>,
  isContent: (part: T) => boolean,
): AttemptCall<OpenAnswer<T>> {
  return async (target, scope) => {
    const { firstTokenMs } = target.policy.timeouts;
    const armFirstToken = () => {
      scope.clear("firstByte");
      scope.deadline("firstToken", firstTokenMs, `${target.provider.name} sent no content within ${firstTokenMs} ms`);
    };
    const response = await forwarded(target, scope, how, armFirstToken);
    const rest = partsOf(target.provider.name, response, scope.signal)[Symbol.asyncIterator]();
    const head: T[] = [];
    const contentType = response.header("content-type") ?? "application/octet-stream";
    try {
      for (;;) {
        const next = await untilAborted(rest.next(), scope.signal);
        if (next.done) break;
        head.push(next.value);
        if (isContent(next.value)) {
          scope.clear("firstToken");
          return { contentType, head, rest, ended: false, scope };
        }
      }
    } catch (error) {
      await rest.return?.().catch(() => {});
      throw error;
    }
    scope.clear("firstToken");
    return { contentType, head, rest, ended: true, scope };
  };
}

/** A binary answer (speech) open once its first bytes arrived. */
export function bytesAttempt(how: Forwarding): AttemptCall<OpenAnswer<Uint8Array>> {
  return openAttempt(how, bytesOf, (part) => part.byteLength > 0);
}

async function* bytesOf(provider: string, response: UpstreamResponse, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  try {
    yield* response.body;
  } catch (error) {
    throw readFailure(provider, signal, error);
  }
}

/** An SSE answer open once its first event of content (`isContent`) arrived. */
export function eventsAttempt(how: Forwarding, isContent: (event: SseEvent) => boolean): AttemptCall<OpenAnswer<SseEvent>> {
  return openAttempt(how, eventsOf, isContent);
}

/** The upstream's events; an error it reports in the stream fails it, like a broken connection. */
async function* eventsOf(provider: string, response: UpstreamResponse, signal: AbortSignal): AsyncGenerator<SseEvent> {
  try {
    for await (const event of parseSse(response.body)) {
      if (reportsError(event)) throw new GatewayError("upstream_error", { message: `${provider} failed mid-stream: ${event.data}` });
      yield event;
    }
  } catch (error) {
    throw readFailure(provider, signal, error);
  }
}

/** An `error` event (Responses API) or an `{"error": ...}` chunk (completions). */
function reportsError(event: SseEvent): boolean {
  if (event.event === "error") return true;
  if (!event.data.startsWith("{")) return false;
  try {
    const data = JSON.parse(event.data) as Record<string, unknown> | null;
    return data !== null && (data.type === "error" || ("error" in data && !("type" in data)));
  } catch {
    return false;
  }
}
