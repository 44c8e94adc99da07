import { Hono } from "hono";
import { forwardedJsonRequest } from "../../shared/contract/forwarded.ts";
import type { GatewayError } from "../../shared/error.ts";
import type { SseEvent } from "../../shared/sse.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { forwardEvents, forwardWhole, renamed, usageOf, withModel, type EventRules } from "./forwarded.ts";

type Data = Record<string, unknown>;

const dataOf = (event: SseEvent): Data | undefined => {
  try {
    const data: unknown = JSON.parse(event.data);
    return data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Data) : undefined;
  } catch {
    return undefined;
  }
};
const typeOf = (event: SseEvent): string | undefined => event.event ?? (dataOf(event)?.type as string | undefined);

const preamble = new Set(["response.created", "response.in_progress", "response.queued"]);
const finals = new Set(["response.completed", "response.failed", "response.incomplete"]);

/** The Responses API's typed events: a broken stream ends with an `error` event numbered after the last one sent. */
function responseRules(): EventRules {
  let sequence = -1;
  const responseOf = (event: SseEvent): Data | undefined => {
    const response = dataOf(event)?.response;
    return response !== null && typeof response === "object" ? (response as Data) : undefined;
  };
  return {
    isContent: (event) => !preamble.has(typeOf(event) ?? ""),
    isFinal: (event) => finals.has(typeOf(event) ?? ""),
    rewrite(event, provider) {
      const data = dataOf(event);
      if (!data) return event;
      if (typeof data.sequence_number === "number") sequence = data.sequence_number;
      const response = responseOf(event);
      return response ? { ...event, data: JSON.stringify({ ...data, response: renamed(response, provider) }) } : event;
    },
    usage: (event) => {
      const response = responseOf(event);
      return response?.usage ? usageOf(response) : undefined;
    },
    errorEvent: (error: GatewayError) => ({
      event: "error",
      data: JSON.stringify({ type: "error", code: error.code, message: error.message, param: error.param, sequence_number: sequence + 1 }),
    }),
  };
}

/** `POST /v1/responses`: OpenAI's Responses API, on chat models whose provider offers it. */
export function responsesRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/responses", async (c) => {
    const request = await readJson(c, forwardedJsonRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    const stream = request.stream === true;
    const forwarded = {
      model: request.model,
      kind: "responses" as const,
      forwarding: {
        endpoint: "responses" as const,
        bodyFor: withModel(request),
        accept: stream ? "text/event-stream" : "application/json",
      },
    };
    return stream ? await forwardEvents(c, deps, forwarded, responseRules()) : await forwardWhole(c, deps, forwarded);
  });
}
