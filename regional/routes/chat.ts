import { Hono } from "hono";
import { chatCompletionRequest } from "../../shared/contract/chat.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { servedBy } from "../http/served-by.ts";
import { chatSse } from "../http/sse.ts";
import { costComment } from "../http/cost-comment.ts";
import { consumptionOf, type Billed } from "../pricing/cost.ts";
import type { Money } from "../pricing/money.ts";
import { admitted, heldUntilGone, type Asker } from "../admission/admitted.ts";
import { priorityHeader } from "../admission/priority.ts";
import { cappedTokens, degradedBy } from "../routing/degradation.ts";
import { chatAttempt, streamAttempt, type RequestContext } from "../routing/chat-attempts.ts";
import { recordMalformedChunk } from "../providers/stream-stats.ts";
import { continuedStream, usageOf, type StreamPart } from "../routing/continued-stream.ts";
import { streamMetrics } from "../observability/stream-metrics.ts";

export function chatRoute(deps: AppDeps): Hono<AppEnv> {
  const streamEvents = deps.metrics && streamMetrics(deps.metrics);
  return new Hono<AppEnv>().post("/chat/completions", async (c) => {
    const request = await readJson(c, chatCompletionRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    const requestId = c.get("requestId");
    const context: RequestContext = {
      requestId,
      mockFault: c.req.header("x-mock-fault"),
      trace: c.get("trace"),
      onMalformedChunk: (provider, { bytes }) => {
        recordMalformedChunk(provider);
        deps.logger.warn("skipped a malformed stream chunk", { requestId, provider, bytes });
      },
    };
    const signal = c.req.raw.signal;
    const asker: Asker = { auth: c.get("auth"), askedPriority: c.req.header(priorityHeader), signal };

    if (!request.stream) {
      const admission = await admitted(
        deps.admission,
        asker,
        request,
        async (asked) => await deps.router.run(asked.model, "chat", signal, chatAttempt(asked, context), { trace: context.trace }),
        cappedTokens,
      );
      admission.slot?.release();
      const served = admission.value;
      const completion = served.result;
      const model = `${served.provider}/${completion.model || served.model}`;
      const billed = [{ provider: served.provider, model: served.model, used: consumptionOf(completion.usage) }];
      c.get("usage")?.set({ model, usage: completion.usage, billed });
      return c.json({ ...completion, model }, 200, { ...servedBy(served), ...degradedBy(admission.degraded) });
    }

    // Set when the router starts, after any wait in the queue: that wait is not the providers' to answer for.
    let started = Date.now();
    const admission = await admitted(
      deps.admission,
      asker,
      request,
      async (asked) => {
        started = Date.now();
        return await deps.router.run(asked.model, "chat", signal, streamAttempt(asked, context), { keepScope: true, trace: context.trace });
      },
      cappedTokens,
    );
    // The slot is held until the stream ends, or the client leaves.
    const release = heldUntilGone(admission.slot, signal);
    const served = admission.value;
    // The router returns a stream once its first content arrived: from the request's start, that is the time to first token.
    deps.metrics?.targets.of(served.provider, served.model).firstToken.observe((Date.now() - started) / 1000);
    const tap = c.get("usage");
    const finishUsage = tap?.defer();
    let cost: Money | null = null;
    const chunks = continuedStream(served, {
      request: admission.request,
      context,
      router: deps.router,
      logger: deps.logger,
      signal,
      deadlineAt: started + served.target.policy.timeouts.totalMs,
      events: streamEvents,
      tracer: deps.tracer,
      onEnd: (parts, error) => {
        release();
        // Parts cut short before their usage chunk count what was streamed; each is priced by its own target.
        const billed = parts.map(billedPart);
        cost = tap?.cost(billed) ?? null;
        finishUsage?.({ model: parts[0]?.model ?? `${served.provider}/${served.model}`, usage: usageOf(parts), billed });
        if (error === undefined) return;
        if (signal.aborted) deps.logger.info("client left mid-stream", { requestId, provider: served.provider });
        else deps.logger.warn("stream failed after it started", { requestId, provider: served.provider, parts: parts.length, error });
      },
    });
    const body = chatSse(chunks, {
      model: (chunk) => chunk.model,
      requestId,
      beforeDone: () => costComment(cost),
      onEnd: c.get("reportStreamEnd")?.(),
    });
    return c.body(body, 200, {
      ...servedBy(served),
      ...degradedBy(admission.degraded),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      // Declared, @hono/node-server writes the head and streams at once instead of probing the body for a length first.
      "transfer-encoding": "chunked",
    });
  });
}

/** A part of a stream as its target bills it: `model` is `provider/model`, the target's own name after the slash. */
const billedPart = (part: StreamPart): Billed => ({
  provider: part.provider,
  model: part.model.slice(part.provider.length + 1),
  used: consumptionOf(part.usage),
});
