import { Hono } from "hono";
import { forwardedJsonRequest } from "../../shared/contract/forwarded.ts";
import type { SseEvent } from "../../shared/sse.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { forwardEvents, forwardWhole, renamed, usageOf, withModel, type EventRules } from "./forwarded.ts";

type Chunk = Record<string, unknown> & { choices?: Array<{ text?: unknown; finish_reason?: unknown }>; usage?: unknown };

const chunkOf = (event: SseEvent): Chunk | undefined => {
  if (event.data === "[DONE]") return undefined;
  try {
    const chunk: unknown = JSON.parse(event.data);
    return chunk !== null && typeof chunk === "object" && !Array.isArray(chunk) ? (chunk as Chunk) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Legacy completions' chunks and `[DONE]`. Usage is always asked for upstream, so every
 * stream is metered; its chunk is left out again when the client did not ask for it.
 */
function completionRules(clientAsked: boolean): EventRules {
  return {
    isContent: (event) =>
      chunkOf(event)?.choices?.some((choice) => Boolean(choice.text) || (choice.finish_reason ?? null) !== null) ?? event.data === "[DONE]",
    isFinal: (event) => event.data === "[DONE]",
    rewrite(event, provider) {
      const chunk = chunkOf(event);
      if (!chunk) return event;
      if (!clientAsked && chunk.usage && chunk.choices?.length === 0) return undefined;
      return { data: JSON.stringify(renamed(chunk, provider)) };
    },
    usage: (event) => {
      const chunk = chunkOf(event);
      return chunk?.usage ? usageOf(chunk) : undefined;
    },
    errorEvent: (error, requestId) => ({ data: JSON.stringify(error.toBody(requestId)) }),
  };
}

/** `POST /v1/completions`: legacy text completions, on completions models. */
export function completionsRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/completions", async (c) => {
    const request = await readJson(c, forwardedJsonRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    const stream = request.stream === true;
    const options = request.stream_options !== null && typeof request.stream_options === "object" ? request.stream_options : {};
    const clientAsked = "include_usage" in options && options.include_usage === true;
    const forwarded = {
      model: request.model,
      kind: "completions" as const,
      forwarding: {
        endpoint: "completions" as const,
        bodyFor: withModel(request, stream ? { stream_options: { ...options, include_usage: true } } : {}),
        accept: stream ? "text/event-stream" : "application/json",
      },
    };
    return stream ? await forwardEvents(c, deps, forwarded, completionRules(clientAsked)) : await forwardWhole(c, deps, forwarded);
  });
}
