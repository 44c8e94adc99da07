import { Hono } from "hono";
import { chatCompletionRequest } from "../../shared/contract/chat.ts";
import type { AppDeps } from "../app.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { chatSse } from "../http/sse.ts";

export function chatRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/chat/completions", async (c) => {
    const request = await readJson(c, chatCompletionRequest, deps.limits.maxBodyBytes);
    const { provider, model } = deps.registry.resolve(request.model, "chat");
    const context = { signal: c.req.raw.signal, requestId: c.get("requestId") };
    const served = { "x-breakwater-provider": provider.name, "x-breakwater-attempts": "1" };
    const named = (upstreamModel: string) => `${provider.name}/${upstreamModel || model}`;

    if (!request.stream) {
      const completion = await provider.chat({ ...request, model }, context);
      return c.json({ ...completion, model: named(completion.model) }, 200, served);
    }

    const chunks = await provider.chatStream({ ...request, model }, context);
    const body = chatSse(chunks, {
      model: (chunk) => named(chunk.model),
      requestId: context.requestId,
      onError: (error) => deps.logger.warn("stream failed after it started", { requestId: context.requestId, provider: provider.name, error }),
    });
    return c.body(body, 200, { ...served, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" });
  });
}
