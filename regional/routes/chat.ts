import { Hono } from "hono";
import { chatCompletionRequest } from "../../shared/contract/chat.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { servedBy } from "../http/served-by.ts";
import { chatSse } from "../http/sse.ts";
import { chatAttempt, streamAttempt, type RequestContext } from "../routing/chat-attempts.ts";
import { recordMalformedChunk } from "../providers/stream-stats.ts";
import { continuedStream, usageOf } from "../routing/continued-stream.ts";

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

    const started = Date.now();
    const served = await deps.router.run(request.model, "chat", signal, streamAttempt(request, context), { keepScope: true });
    const finishUsage = c.get("usage")?.defer();
    const chunks = continuedStream(served, {
      request,
      context,
      router: deps.router,
      logger: deps.logger,
      signal,
      deadlineAt: started + served.target.policy.timeouts.totalMs,
      onEnd: (parts, error) => {
        // Parts cut short before their usage chunk count what was streamed.
        finishUsage?.({ model: parts[0]?.model ?? `${served.provider}/${served.model}`, usage: usageOf(parts) });
        if (error === undefined) return;
        if (signal.aborted) deps.logger.info("client left mid-stream", { requestId, provider: served.provider });
        else deps.logger.warn("stream failed after it started", { requestId, provider: served.provider, parts: parts.length, error });
      },
    });
    const body = chatSse(chunks, { model: (chunk) => chunk.model, requestId });
    return c.body(body, 200, {
      ...servedBy(served),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
  });
}
