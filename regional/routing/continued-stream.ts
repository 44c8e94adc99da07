import type { Tracer } from "@opentelemetry/api";
import type { ChatCompletionChunk, ChatCompletionRequest, Usage } from "../../shared/contract/chat.ts";
import { classifyFailure, type Outcome } from "../../shared/resilience/outcome.ts";
import type { Logger } from "../logger.ts";
import { traceStream, type StreamTrace } from "../observability/trace-stream.ts";
import { streamedUsage } from "../usage/streamed-usage.ts";
import { streamAttempt, type RequestContext, type StreamStart } from "./chat-attempts.ts";
import {
  continuableRequest,
  continuationRequest,
  continuationTargets,
  deliver,
  seamed,
  startDelivered,
  type Delivered,
} from "./continuation.ts";
import type { PlannedTarget } from "./plan.ts";
import type { Router, Served } from "./router.ts";
import { guardStream } from "./stream-guard.ts";

/** One target's part of the answer. */
export interface StreamPart {
  provider: string;
  model: string;
  usage: Usage;
  /** Why the part ended early; absent for the part that finished the answer. */
  failure?: string;
}

export interface ContinuedStreamOptions {
  /** The client's request as it came (a stream). */
  request: ChatCompletionRequest;
  context: RequestContext;
  router: Router;
  logger: Logger;
  /** The client's signal. */
  signal: AbortSignal;
  /** When the whole answer must be done by (epoch ms): a continuation starts and runs only before it. */
  deadlineAt: number;
  /** Called once, when the answer ends, with every part's usage (and the failure that ended it, if any). */
  onEnd(parts: StreamPart[], error: unknown): void;
  /** Told of breaks and continuations (metrics); unset, nobody is. */
  events?: StreamEvents;
  /** Traces the answer as a `breakwater.stream` span; unset, none (the request's trace context is still kept). */
  tracer?: Tracer;
}

/** What became of an attempt to continue a broken stream: `no_target` when none could take it on. */
export type ContinuationResult = "continued" | "no_target" | "failed";

export interface StreamEvents {
  /** A part broke or stalled after content reached the client (not a client that left). */
  broke(provider: string, outcome: Outcome): void;
  continuation(result: ContinuationResult): void;
}

/** `provider/model` as clients see it. */
const nameOf = (target: PlannedTarget, chunk?: ChatCompletionChunk) => `${target.provider.name}/${chunk?.model || target.model}`;

/** Every part's usage, summed. */
export function usageOf(parts: StreamPart[]): Usage {
  return parts.reduce<Usage>(
    (total, part) => ({
      prompt_tokens: total.prompt_tokens + part.usage.prompt_tokens,
      completion_tokens: total.completion_tokens + part.usage.completion_tokens,
      total_tokens: total.total_tokens + part.usage.total_tokens,
    }),
    { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  );
}

/**
 * Streams a served chat answer to the client, and when it breaks or stalls after content
 * reached the client, asks another target of the route that accepts a prefill to continue
 * it — the original messages plus what was delivered as a final assistant message — and
 * streams that on as the same answer (same id, no second role, no doubled whitespace at the
 * seam, one finish reason). Each target continues at most once, all within the answer's
 * deadline. When no target can, or a continuation fails too, the answer ends with the error
 * event of the original failure, never a fallback's rejection. The usage chunk (when asked
 * for) sums every part and lists them in `breakwater.parts`.
 */
export function continuedStream(first: Served<StreamStart>, options: ContinuedStreamOptions): AsyncGenerator<ChatCompletionChunk> {
  return streamed(first, options, traceStream(options.tracer, options.context.trace));
}

async function* streamed(
  first: Served<StreamStart>,
  options: ContinuedStreamOptions,
  traced: StreamTrace,
): AsyncGenerator<ChatCompletionChunk> {
  const { request, signal, router, logger } = options;
  const includeUsage = request.stream_options?.include_usage === true;
  const delivered: Delivered = startDelivered();
  const used = new Set<PlannedTarget>([first.target]);
  const parts: StreamPart[] = [];
  /** The answer's model as the client sees it: the first part's, on every chunk. */
  let model = nameOf(first.target);
  let named = false;
  let current: Served<StreamStart> = first;
  /** What the current part was asked: the client's request, or a continuation of it. */
  let asked = request;
  let seam: { trimmed: string; started: boolean } | undefined;
  let original: unknown;
  let ended: unknown;
  /** The part still streaming, to record however the answer ends (a client that leaves returns from a yield). */
  let open: ((failure?: unknown) => StreamPart) | undefined;
  const close = (failure?: unknown) => {
    if (open) parts.push(open(failure));
    open = undefined;
  };

  try {
    for (;;) {
      const target = current.target;
      let usage: Usage | undefined;
      let streamedChars = 0;
      const chunks = guardStream(current.result, {
        idleMs: target.policy.timeouts.idleMs,
        provider: target.provider.name,
        onUsage: (reported) => {
          usage = reported;
        },
        onEnd: (error, chars) => {
          streamedChars = chars;
          if (error === undefined) return;
          router.reportStreamFailure(target, error, signal.aborted);
          if (!signal.aborted) options.events?.broke(target.provider.name, classifyFailure(error, false).outcome);
        },
      });
      open = (failure?: unknown): StreamPart => ({
        provider: target.provider.name,
        model: nameOf(target),
        usage: usage ?? streamedUsage(asked, streamedChars),
        ...(failure !== undefined && { failure: failure instanceof Error ? failure.message : String(failure) }),
      });
      try {
        for await (const chunk of chunks) {
          const out = seam ? seamed(chunk, delivered, seam) : chunk;
          if (!out) continue;
          deliver(delivered, out);
          if (!named) {
            named = true;
            model = nameOf(target, out);
          }
          yield { ...out, model };
        }
        close();
        if (includeUsage) {
          const extension = parts.length > 1 ? { breakwater: { parts } } : {};
          yield {
            id: delivered.id,
            object: "chat.completion.chunk",
            created: delivered.created,
            model,
            choices: [],
            usage: usageOf(parts),
            ...extension,
          };
        }
        return;
      } catch (error) {
        close(error);
        original ??= error;
        const next = await continuation(error);
        if (next !== "not_continuable") options.events?.continuation(typeof next === "string" ? next : "continued");
        if (typeof next === "string") throw original;
        logger.warn("stream continued on another target", {
          requestId: options.context.requestId,
          from: nameOf(target),
          to: nameOf(next.served.target),
          chars: delivered.text.length,
        });
        traced.continued(nameOf(target), nameOf(next.served.target));
        // Each target continues at most once: the one that serves, and those that failed to start.
        for (const tried of first.plan.targets) {
          if (
            tried === next.served.target ||
            next.served.history.some((entry) => entry.provider === tried.provider.name && entry.model === tried.model)
          )
            used.add(tried);
        }
        seam = { trimmed: next.trimmed, started: false };
        asked = next.request;
        current = next.served;
      }
    }
  } catch (error) {
    ended = error;
    throw error;
  } finally {
    close(signal.aborted ? "client left" : undefined);
    traced.end(parts.length, signal.aborted ? "client_gone" : ended === undefined ? "ok" : classifyFailure(ended, false).outcome);
    options.onEnd(parts, ended);
  }

  /**
   * Starts the continuation on the next capable target; or says why not: the answer may not be
   * continued at all, no target can take it on (or no time is left), or the continuation failed.
   */
  async function continuation(
    error: unknown,
  ): Promise<
    { served: Served<StreamStart>; request: ChatCompletionRequest; trimmed: string } | "not_continuable" | "no_target" | "failed"
  > {
    if (!first.plan.continueOnBreak || !continuableRequest(request) || !delivered.continuable || delivered.text === "")
      return "not_continuable";
    if (classifyFailure(error, signal.aborted).outcome !== "provider_fault") return "not_continuable";
    const remainingMs = options.deadlineAt - Date.now();
    if (remainingMs <= 0) return "no_target";
    const candidates = continuationTargets(first.plan, used);
    if (candidates.length === 0) return "no_target";
    const within = AbortSignal.any([signal, AbortSignal.timeout(remainingMs)]);
    const { request: continued, trimmed } = continuationRequest(request, delivered);
    try {
      const served = await router.run(request.model, "chat", within, streamAttempt(continued, options.context), {
        keepScope: true,
        targets: () => candidates,
        continuation: true,
        trace: traced.context,
      });
      return { served, request: continued, trimmed };
    } catch (failure) {
      logger.warn("stream could not be continued", { requestId: options.context.requestId, error: failure });
      return "failed";
    }
  }
}
