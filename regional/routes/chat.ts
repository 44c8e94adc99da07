import { Hono } from "hono";
import { chatCompletionRequest, type Usage } from "../../shared/contract/chat.ts";
import type { AppDeps } from "../app.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { servedBy } from "../http/served-by.ts";
import { chatSse } from "../http/sse.ts";
import { chatAttempt, streamAttempt, type RequestContext } from "../routing/chat-attempts.ts";
import { recordMalformedChunk } from "../providers/stream-stats.ts";
import { guardStream } from "../routing/stream-guard.ts";
import { streamedUsage } from "../usage/streamed-usage.ts";

export function chatRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/chat/completions", async (c) => {
    const request = await readJson(c, chatCompletionRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    const requestId = c.get("requestId");
    const context: RequestContext = {
      requestId,
      mockFault: c.req.header("x-mock-fault"),
      onMalformedChunk: (provider, { bytes }) => {
        recordMalformedChunk(provider);
        deps.logger.warn("skipped a malformed stream chunk", { requestId, provider, bytes });
      },
    };
    const signal = c.req.raw.signal;

    if (!request.stream) {
      const served = await deps.router.run(request.model, "chat", signal, chatAttempt(request, context));
      const completion = served.result;
      const model = `${served.provider}/${completion.model || served.model}`;
      c.get("usage")?.set({ model, usage: completion.usage });
      return c.json({ ...completion, model }, 200, servedBy(served));
    }

    const served = await deps.router.run(request.model, "chat", signal, streamAttempt(request, context), true);
    const finishUsage = c.get("usage")?.defer();
    let usage: Usage | undefined;
    let model = `${served.provider}/${served.model}`;
    const chunks = guardStream(served.result, {
      idleMs: served.target.policy.timeouts.idleMs,
      provider: served.provider,
      includeUsage: request.stream_options?.include_usage === true,
      onUsage: (reported) => {
        usage = reported;
      },
      onEnd: (error, streamedChars) => {
        // Cut short (a client that left, a provider that broke off) before its usage chunk: count what was streamed.
        finishUsage?.({ model, usage: usage ?? streamedUsage(request, streamedChars) });
        if (error === undefined) return;
        deps.router.reportStreamFailure(served.target, error, signal.aborted);
        if (signal.aborted) deps.logger.info("client left mid-stream", { requestId, provider: served.provider });
        else deps.logger.warn("stream failed after it started", { requestId, provider: served.provider, error });
      },
    });
    const body = chatSse(chunks, {
      model: (chunk) => (model = `${served.provider}/${chunk.model || served.model}`),
      requestId,
    });
    return c.body(body, 200, { ...servedBy(served), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" });
  });
}
