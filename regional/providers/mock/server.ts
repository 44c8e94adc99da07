import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { sleep as wait } from "../../../shared/resilience/deadline.ts";
import { countWords, echo, embed, encodeEmbedding, kindOf } from "./echo.ts";
import { createFaultCounter, FaultSpecError, noFault, parseFault, type Fault } from "./faults.ts";
import type { MockBindings } from "./bindings.ts";
import { forwardedEndpoints } from "./forwarded.ts";
import { sseBody, streamSteps } from "./sse-body.ts";
import { anthropicWire } from "./wires/anthropic.ts";
import { openAiWire } from "./wires/openai.ts";
import { objectOf, type MockWire, type WireError } from "./wires/mock-wire.ts";

export type { MockBindings } from "./bindings.ts";

type MockEnv = { Bindings: MockBindings };

export interface MockUpstreamOptions {
  /** A fault spec per model (see `faults.ts`), for calls that bring no `x-mock-fault` header. */
  faults?: Record<string, string>;
  now?: () => number;
}

export interface MockUpstream {
  app: Hono<MockEnv>;
  /** How many calls reached the upstream for `model`, faulted ones included. */
  calls(model: string): number;
}

function send(error: WireError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(error.body), { status: error.status, headers: { "content-type": "application/json", ...headers } });
}

/**
 * A stand-in for provider APIs, in process or on a port: OpenAI's wire format under
 * `/openai/v1` (chat, plain and SSE; embeddings; the endpoints in `forwarded.ts`) and Anthropic's under `/anthropic/v1`
 * (messages, plain and SSE), serving the `echo` and `embed` models with the faults a
 * request's `x-mock-fault` header or the model's configured spec asks for.
 */
export function createMockUpstream(options: MockUpstreamOptions = {}): MockUpstream {
  const now = options.now ?? Date.now;
  const configured = options.faults ?? {};
  // A typo in configuration fails at start-up, not on the first call.
  for (const spec of Object.values(configured)) parseFault(spec);
  const counter = createFaultCounter();
  const calls = new Map<string, number>();

  /** Counts the call and picks its fault; a bad header spec is the caller's 400. */
  function faultOf(c: Context<MockEnv>, wire: MockWire, model: string): Fault | Response {
    // Only models it serves are counted, so made-up names cannot grow the map.
    if (kindOf(model)) calls.set(model, (calls.get(model) ?? 0) + 1);
    const spec = c.req.header("x-mock-fault") ?? configured[model];
    if (!spec) return noFault;
    try {
      const fault = parseFault(spec);
      return counter.applies(model, spec, fault) ? fault : noFault;
    } catch (error) {
      if (error instanceof FaultSpecError) return send(wire.error(400, error.message));
      throw error;
    }
  }

  /** The faults every endpoint shares: a slow answer, no answer, or an error answer. */
  async function failure(c: Context<MockEnv>, wire: MockWire, fault: Fault): Promise<Response | undefined> {
    await wait(fault.latencyMs, c.env?.signal ?? c.req.raw.signal);
    if (fault.reset) {
      c.env?.reset();
      return new Response(null, { status: 502 });
    }
    if (fault.status !== undefined) {
      const retryAfter: Record<string, string> = fault.retryAfterS === undefined ? {} : { "retry-after": String(fault.retryAfterS) };
      return send(wire.error(fault.status, `mock: injected status ${fault.status}`), retryAfter);
    }
    if (fault.contextLength) return send(wire.contextLength);
    if (fault.contentPolicy) return send(wire.contentPolicy);
    return undefined;
  }

  async function chat(c: Context<MockEnv>, wire: MockWire): Promise<Response> {
    if (!wire.authorized(c.req.raw.headers)) return send(wire.error(401, "mock: the request carries no credentials"));
    const prompt = wire.readChat(await c.req.json().catch(() => undefined));
    if (typeof prompt === "string") return send(wire.error(400, prompt));
    const fault = faultOf(c, wire, prompt.model);
    if (fault instanceof Response) return fault;
    const failed = await failure(c, wire, fault);
    if (failed) return failed;
    if (kindOf(prompt.model) !== "chat") return send(wire.error(404, `mock: no chat model '${prompt.model}'`));

    const reply = {
      id: `${wire.idPrefix}${randomUUID().replaceAll("-", "")}`,
      created: Math.floor(now() / 1000),
      model: prompt.model,
      answer: echo(prompt),
      includeUsage: prompt.includeUsage,
    };
    const signal = c.env?.signal ?? c.req.raw.signal;
    if (!prompt.stream) {
      // A whole answer waits for its first token too.
      await wait(fault.firstTokenDelayMs, signal);
      return Response.json(wire.completion(reply));
    }
    const body = sseBody(streamSteps(wire.stream(reply), wire.malformedEvent, fault), fault.firstTokenDelayMs, signal, c.env?.dropMidBody);
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }

  async function embeddings(c: Context<MockEnv>): Promise<Response> {
    const wire = openAiWire;
    if (!wire.authorized(c.req.raw.headers)) return send(wire.error(401, "mock: the request carries no credentials"));
    const request = objectOf(await c.req.json().catch(() => undefined));
    if (typeof request?.model !== "string" || request.input === undefined) return send(wire.error(400, "model and input are required"));
    const fault = faultOf(c, wire, request.model);
    if (fault instanceof Response) return fault;
    const failed = await failure(c, wire, fault);
    if (failed) return failed;
    if (kindOf(request.model) !== "embeddings") return send(wire.error(404, `mock: no embeddings model '${request.model}'`));

    const inputs: unknown[] = Array.isArray(request.input) ? request.input : [request.input];
    const texts =
      typeof inputs[0] === "number"
        ? [JSON.stringify(inputs)]
        : inputs.map((input) => (typeof input === "string" ? input : JSON.stringify(input)));
    const tokens = texts.reduce((sum, text) => sum + countWords(text), 0);
    return Response.json({
      object: "list",
      data: texts.map((text, index) => ({ object: "embedding", index, embedding: encodeEmbedding(embed(text), request.encoding_format) })),
      model: request.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  const app = new Hono<MockEnv>();
  for (const wire of [openAiWire, anthropicWire]) app.post(wire.chatPath, (c) => chat(c, wire));
  app.post("/openai/v1/embeddings", embeddings);
  forwardedEndpoints(app, {
    faultOf: (c, model) => faultOf(c, openAiWire, model),
    failure: (c, fault) => failure(c, openAiWire, fault),
    now,
  });
  app.notFound((c) => c.json({ error: { message: `mock: no route for ${c.req.method} ${c.req.path}` } }, 404));
  // Mostly a caller that left during a wait, whom this answer no longer reaches.
  app.onError((error, c) => c.json({ error: { message: `mock: ${error.message}` } }, 500));

  return { app, calls: (model) => calls.get(model) ?? 0 };
}
