import type { Context } from "@opentelemetry/api";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { markFirstToken } from "../observability/trace-attempts.ts";
import type { CallContext } from "../providers/types.ts";
import { untilAborted, type AttemptScope } from "../../shared/resilience/deadline.ts";
import type { PlannedTarget } from "./plan.ts";
import type { AttemptCall, TargetScope } from "./router.ts";

export interface RequestContext {
  requestId: string;
  mockFault?: string;
  /** The request's trace context (the request's `trace`): the attempts' parent. */
  trace?: Context;
  /** A stream chunk the provider sent was unparseable and skipped. */
  onMalformedChunk?: (provider: string, detail: { bytes: number }) => void;
}

/** A stream that has produced its first content: what was read so far, and the rest. */
export interface StreamStart {
  head: ChatCompletionChunk[];
  rest: AsyncIterator<ChatCompletionChunk>;
  /** The upstream stream already ended while waiting for the first content. */
  ended: boolean;
  scope: AttemptScope;
}

/**
 * The call's context: its signal, and the first-byte deadline, which starts only once the
 * request was written to a connection. Time spent waiting for a free local socket or
 * connecting is ours (bounded on its own), not the provider's. `onHeaders` runs when the
 * provider's response headers arrive.
 */
export function callContext(
  target: PlannedTarget,
  scope: TargetScope,
  request: RequestContext,
  onHeaders: () => void = () => scope.clear("firstByte"),
): CallContext {
  const { firstByteMs, connectMs } = target.policy.timeouts;
  const name = target.provider.name;
  return {
    signal: scope.signal,
    requestId: request.requestId,
    mockFault: request.mockFault,
    trace: scope.trace,
    connectTimeoutMs: connectMs,
    onSent: () => scope.deadline("firstByte", firstByteMs, `${name} sent no response within ${firstByteMs} ms`),
    onHeaders,
    onRateLimitHeaders: scope.onRateLimitHeaders,
    onMalformedChunk: request.onMalformedChunk === undefined ? undefined : (detail) => request.onMalformedChunk?.(name, detail),
  };
}

export function chatAttempt(request: ChatCompletionRequest, context: RequestContext): AttemptCall<ChatCompletion> {
  return async (target, scope) =>
    await target.provider.chat({ ...request, model: target.model, stream: false }, callContext(target, scope, context));
}

function hasContent(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.some(
    (choice) =>
      Boolean(choice.delta.content) || Boolean(choice.delta.tool_calls) || Boolean(choice.delta.refusal) || choice.finish_reason !== null,
  );
}

/**
 * Starts a stream and reads until its first content chunk. Nothing reaches the client
 * before that, so a target that fails or stays silent here can still be fallen back from.
 * Usage is always asked for, so tokens are counted even when the client did not ask.
 */
export function streamAttempt(request: ChatCompletionRequest, context: RequestContext): AttemptCall<StreamStart> {
  return async (target: PlannedTarget, scope: TargetScope) => {
    const { firstTokenMs } = target.policy.timeouts;
    const name = target.provider.name;
    let armed = false;
    const armFirstToken = () => {
      scope.clear("firstByte");
      if (!armed) scope.deadline("firstToken", firstTokenMs, `${name} sent no content within ${firstTokenMs} ms`);
      armed = true;
    };
    const upstream = { ...request, model: target.model, stream: true, stream_options: { ...request.stream_options, include_usage: true } };
    const chunks = await target.provider.chatStream(upstream, callContext(target, scope, context, armFirstToken));
    armFirstToken();
    const rest = chunks[Symbol.asyncIterator]();
    const head: ChatCompletionChunk[] = [];
    try {
      for (;;) {
        const next = await untilAborted(rest.next(), scope.signal);
        if (next.done) {
          scope.clear("firstToken");
          return { head, rest, ended: true, scope };
        }
        head.push(next.value);
        if (hasContent(next.value)) break;
      }
    } catch (error) {
      await rest.return?.().catch(() => {});
      throw error;
    }
    scope.clear("firstToken");
    markFirstToken(scope.trace);
    return { head, rest, ended: false, scope };
  };
}
