import type { Context } from "hono";
import type { Usage } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import type { SseEvent } from "../../shared/sse.ts";
import { admitted, heldUntilGone, type Admitted, type Asker } from "../admission/admitted.ts";
import { priorityHeader } from "../admission/priority.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { relayed, sseFrame, type RelayOptions } from "../http/relayed-stream.ts";
import { servedBy } from "../http/served-by.ts";
import type { RequestKind } from "../providers/types.ts";
import type { RequestContext } from "../routing/chat-attempts.ts";
import { degradedBy } from "../routing/degradation.ts";
import {
  bytesAttempt,
  eventsAttempt,
  wholeAttempt,
  type BodyFor,
  type Forwarding,
  type OpenAnswer,
} from "../routing/forwarded-attempts.ts";
import type { AttemptCall, Served } from "../routing/router.ts";
import { requestBody } from "../providers/request-body.ts";
import { costComment, joined } from "../http/cost-comment.ts";
import { answerConsumption, consumptionOf } from "../pricing/cost.ts";

type Ctx = Context<AppEnv>;

/** How a forwarded request is routed: its kind (what the model must serve) and its body per target. */
export interface ForwardedRequest {
  model: string;
  kind: RequestKind;
  forwarding: Omit<Forwarding, "context">;
}

const contextOf = (c: Ctx): RequestContext => ({
  requestId: c.get("requestId"),
  mockFault: c.req.header("x-mock-fault"),
  trace: c.get("trace"),
});

/** Through admission (the model's queue, its degradation) and the router: retries, breakers, fallback. */
async function run<T>(
  c: Ctx,
  deps: AppDeps,
  request: ForwardedRequest,
  attempt: (how: Forwarding) => AttemptCall<T>,
  keepScope: boolean,
): Promise<Admitted<{ model: string }, Served<T>>> {
  const signal = c.req.raw.signal;
  const asker: Asker = { auth: c.get("auth"), askedPriority: c.req.header(priorityHeader), signal };
  const context = contextOf(c);
  const call = attempt({ ...request.forwarding, context });
  return await admitted(deps.admission, asker, { model: request.model }, async (asked) =>
    deps.router.run(asked.model, request.kind, signal, call, { keepScope, trace: context.trace }),
  );
}

const headersOf = (admission: Admitted<{ model: string }, Served<unknown>>) => ({
  ...servedBy(admission.value),
  ...degradedBy(admission.degraded),
});

const count = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/**
 * Tokens as the answer reports them (chat's names or the Responses API's); 0 where it reports
 * none, so the request is still recorded. Cached prompt tokens are kept: they are priced apart.
 */
export function usageOf(body: unknown): Partial<Usage> {
  const usage = (body !== null && typeof body === "object" && "usage" in body ? body.usage : undefined) as
    Record<string, unknown> | undefined;
  const prompt = count(usage?.prompt_tokens) ?? count(usage?.input_tokens) ?? 0;
  const completion = count(usage?.completion_tokens) ?? count(usage?.output_tokens) ?? 0;
  const details = (usage?.prompt_tokens_details ?? usage?.input_tokens_details) as Record<string, unknown> | null | undefined;
  const cached = count(details?.cached_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: count(usage?.total_tokens) ?? prompt + completion,
    ...(cached !== undefined && { prompt_tokens_details: { cached_tokens: cached } }),
  };
}

/** `model` as clients name it (`provider/model`), where an object says which model answered. */
export function renamed(body: Record<string, unknown>, provider: string): Record<string, unknown> {
  return typeof body.model === "string" ? { ...body, model: `${provider}/${body.model}` } : body;
}

/** A whole answer: JSON gets its model named as clients name it and its usage reported; anything else (a text transcript) goes as it is. */
export async function forwardWhole(c: Ctx, deps: AppDeps, request: ForwardedRequest): Promise<Response> {
  const admission = await run(c, deps, request, wholeAttempt, false);
  admission.slot?.release();
  const served = admission.value;
  const { contentType, bytes } = served.result;
  const model = `${served.provider}/${served.model}`;
  const billed = (body: unknown) => [{ provider: served.provider, model: served.model, used: answerConsumption(request.kind, body) }];
  if (!contentType.includes("json")) {
    c.get("usage")?.set({ model, usage: usageOf(undefined), billed: billed(undefined) });
    return c.body(bytes.buffer, 200, { ...headersOf(admission), "content-type": contentType });
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new GatewayError("upstream_error", { message: `${served.provider} answered with a malformed body.`, cause: error });
  }
  c.get("usage")?.set({ model, usage: usageOf(body), billed: billed(body) });
  const answer =
    body !== null && typeof body === "object" && !Array.isArray(body) ? renamed(body as Record<string, unknown>, served.provider) : body;
  return c.json(answer, 200, headersOf(admission));
}

/** What a forwarded stream's events mean. */
export interface EventRules {
  /** Content: from here on the stream is the client's and can no longer fall back. */
  isContent(event: SseEvent): boolean;
  /** The event that ends a complete stream; one that ends without it was cut short. */
  isFinal(event: SseEvent): boolean;
  /** The event as the client gets it (model renamed), undefined to leave it out. */
  rewrite(event: SseEvent, provider: string): SseEvent | undefined;
  /** The usage an event reports, if any. */
  usage(event: SseEvent): Partial<Usage> | undefined;
  /** The event a stream broken after it started ends with, in the endpoint's shape. */
  errorEvent(error: GatewayError, requestId: string): SseEvent;
}

/** After the head, the rest; given `isFinal`, one that ends before its final part failed. */
async function* completed<T>(open: OpenAnswer<T>, provider: string, isFinal?: (part: T) => boolean): AsyncGenerator<T> {
  let final = isFinal === undefined || open.head.some(isFinal);
  yield* open.head;
  if (!open.ended) {
    for (;;) {
      const next = await open.rest.next();
      if (next.done) break;
      final ||= isFinal?.(next.value) ?? true;
      yield next.value;
    }
  }
  if (!final) throw new GatewayError("upstream_error", { message: `${provider} ended the stream before it finished.` });
}

/** Relays an open answer; the attempt's scope and slot are held until it ends, a failure then counts against the target. */
function relay<T>(
  c: Ctx,
  deps: AppDeps,
  admission: Admitted<{ model: string }, Served<OpenAnswer<T>>>,
  parts: AsyncIterator<T>,
  options: RelayOptions<T>,
): ReadableStream<Uint8Array> {
  const signal = c.req.raw.signal;
  const release = heldUntilGone(admission.slot, signal);
  const served = admission.value;
  return relayed(parts, {
    ...options,
    onEnd(error) {
      release();
      served.result.scope.close();
      void served.result.rest.return?.().catch(() => {});
      if (error !== undefined) {
        deps.router.reportStreamFailure(served.target, error, signal.aborted);
        if (!signal.aborted)
          deps.logger.warn("stream failed after it started", { requestId: c.get("requestId"), provider: served.provider, error });
      }
      options.onEnd(error);
    },
  });
}

/**
 * An SSE stream, relayed event by event; a break after it started ends with the endpoint's
 * error event, never its final one. A stream that ends whole carries its cost as a comment:
 * before a final `[DONE]`, else after the final event.
 */
export async function forwardEvents(c: Ctx, deps: AppDeps, request: ForwardedRequest, rules: EventRules): Promise<Response> {
  const admission = await run(c, deps, request, (how) => eventsAttempt(how, rules.isContent), true);
  const served = admission.value;
  const tap = c.get("usage");
  const finish = tap?.defer();
  let usage: Partial<Usage> | undefined;
  const billed = () => [{ provider: served.provider, model: served.model, used: consumptionOf(usage) }];
  const requestId = c.get("requestId");
  const events = completed(served.result, served.provider, rules.isFinal);
  const body = relay(c, deps, admission, events, {
    encode(event) {
      usage = rules.usage(event) ?? usage;
      const out = rules.rewrite(event, served.provider);
      if (!out) return undefined;
      const frame = sseFrame(out);
      const comment = rules.isFinal(event) ? costComment(tap?.cost(billed()) ?? null) : undefined;
      if (!comment) return frame;
      return out.data === "[DONE]" ? joined(comment, frame) : joined(frame, comment);
    },
    broken: (error) => sseFrame(rules.errorEvent(error, requestId)),
    onEnd: () => finish?.({ model: `${served.provider}/${served.model}`, usage: usage ?? usageOf(undefined), billed: billed() }),
    ended: c.get("reportStreamEnd")?.(),
  });
  return c.body(body, 200, {
    ...headersOf(admission),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    // Declared, @hono/node-server writes the head and streams at once instead of probing the body for a length first.
    "transfer-encoding": "chunked",
  });
}

/** A binary body (speech), streamed through; a break after it started cuts the connection, so it never looks complete. */
export async function forwardBytes(c: Ctx, deps: AppDeps, request: ForwardedRequest): Promise<Response> {
  const admission = await run(c, deps, request, bytesAttempt, true);
  const served = admission.value;
  const finish = c.get("usage")?.defer();
  const open = served.result;
  const parts = completed(open, served.provider);
  const body = relay(c, deps, admission, parts, {
    encode: (part) => part,
    broken: () => undefined,
    onEnd: () => finish?.({ model: `${served.provider}/${served.model}`, usage: usageOf(undefined) }),
  });
  return c.body(body, 200, { ...headersOf(admission), "content-type": open.contentType });
}

/** JSON text of a body with `model` set to the target's own name. */
export const withModel =
  (request: Record<string, unknown>, extra: Record<string, unknown> = {}): BodyFor =>
  async (model) => ({ body: requestBody({ ...request, ...extra, model }), contentType: "application/json" });
