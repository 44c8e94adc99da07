import { createHash, randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { sleep as wait } from "../../../shared/resilience/deadline.ts";
import type { ModelKind } from "../types.ts";
import { countWords, echo, kindOf, type EchoAnswer } from "./echo.ts";
import type { Fault } from "./faults.ts";
import { pieceSteps, sseBody, streamSteps } from "./sse-body.ts";
import { objectOf, sseFrame, textOf, type StreamFrames, type WireError } from "./wires/mock-wire.ts";
import { openAiWire } from "./wires/openai.ts";
import type { MockBindings } from "./bindings.ts";

type MockContext = Context<{ Bindings: MockBindings }>;

/** What the endpoints share with the server's chat: counting a call, its fault, and the faults every endpoint honours. */
export interface MockEndpointTools {
  faultOf(c: MockContext, model: string): Fault | Response;
  failure(c: MockContext, fault: Fault): Promise<Response | undefined>;
  now(): number;
}

const send = (error: WireError) => Response.json(error.body, { status: error.status });
const sse = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
const idOf = (prefix: string) => `${prefix}${randomUUID().replaceAll("-", "")}`;

/**
 * Checks what every endpoint checks, in the order a provider would: credentials, the model
 * named, the call's fault, and that the model serves this endpoint (404 otherwise).
 */
async function admitted(c: MockContext, tools: MockEndpointTools, model: unknown, kind: ModelKind): Promise<Fault | Response> {
  if (!openAiWire.authorized(c.req.raw.headers)) return send(openAiWire.error(401, "mock: the request carries no credentials"));
  if (typeof model !== "string") return send(openAiWire.error(400, "mock: model is required"));
  const fault = tools.faultOf(c, model);
  if (fault instanceof Response) return fault;
  const failed = await tools.failure(c, fault);
  if (failed) return failed;
  if (kindOf(model) !== kind) return send(openAiWire.error(404, `mock: no ${kind} model '${model}'`));
  return fault;
}

/** A stream's events under its fault (stall, break, no terminator, a malformed event), from the first-token delay on. */
function streamed(c: MockContext, frames: StreamFrames, fault: Fault): Response {
  const signal = c.env?.signal ?? c.req.raw.signal;
  return sse(sseBody(streamSteps(frames, "data: {not json\n\n", fault), fault.firstTokenDelayMs, signal, c.env?.dropMidBody));
}

/** The text a Responses API `input` asks to echo: the string, or the last user message's text. */
function inputText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  const user = input.map(objectOf).filter((item) => item?.role === "user");
  const content = user.at(-1)?.content;
  if (!Array.isArray(content)) return textOf(content);
  return content.map((part) => (objectOf(part)?.type === "input_text" ? String(objectOf(part)?.text ?? "") : "")).join("");
}

const answerOf = (model: string, text: string, maxTokens: unknown): EchoAnswer =>
  echo({
    model,
    texts: [text],
    lastUser: text,
    stream: false,
    includeUsage: true,
    maxTokens: typeof maxTokens === "number" ? maxTokens : undefined,
  });

async function responses(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const request = objectOf(await c.req.json().catch(() => undefined)) ?? {};
  const fault = await admitted(c, tools, request.model, "chat");
  if (fault instanceof Response) return fault;
  const model = String(request.model);
  const answer = answerOf(model, inputText(request.input), request.max_output_tokens);
  const id = idOf("resp_");
  const itemId = idOf("msg_");
  const usage = {
    input_tokens: answer.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: answer.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
  const status = answer.truncated ? "incomplete" : "completed";
  const item = (text: string, itemStatus: string) => ({
    type: "message",
    id: itemId,
    status: itemStatus,
    role: "assistant",
    content: text === "" && itemStatus === "in_progress" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
  });
  const response = (state: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: "response",
    created_at: Math.floor(tools.now() / 1000),
    status: state,
    model,
    output,
    incomplete_details: answer.truncated ? { reason: "max_output_tokens" } : null,
    error: null,
    usage: withUsage ? usage : null,
  });
  if (request.stream !== true) {
    await wait(fault.firstTokenDelayMs, c.env?.signal ?? c.req.raw.signal);
    return Response.json(response(status, [item(answer.text, "completed")], true));
  }
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => sseFrame({ type, sequence_number: sequence++, ...fields }, type);
  const part = { output_index: 0, item_id: itemId, content_index: 0 };
  const head = [
    event("response.created", { response: response("in_progress", [], false) }),
    event("response.output_item.added", { output_index: 0, item: item("", "in_progress") }),
    event("response.content_part.added", { ...part, part: { type: "output_text", text: "", annotations: [] } }),
  ];
  const content = answer.words.map((word) => event("response.output_text.delta", { ...part, delta: word, logprobs: [] }));
  const tail = [
    event("response.output_text.done", { ...part, text: answer.text, logprobs: [] }),
    event("response.content_part.done", { ...part, part: { type: "output_text", text: answer.text, annotations: [] } }),
    event("response.output_item.done", { output_index: 0, item: item(answer.text, "completed") }),
  ];
  const end = event(answer.truncated ? "response.incomplete" : "response.completed", {
    response: response(status, [item(answer.text, "completed")], true),
  });
  return streamed(c, { head, content, tail, end }, fault);
}

async function completions(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const request = objectOf(await c.req.json().catch(() => undefined)) ?? {};
  const fault = await admitted(c, tools, request.model, "completions");
  if (fault instanceof Response) return fault;
  const model = String(request.model);
  const prompt = Array.isArray(request.prompt) ? request.prompt.map(String).join("\n") : String(request.prompt ?? "");
  const answer = answerOf(model, prompt, request.max_tokens);
  const base = { id: idOf("cmpl-"), object: "text_completion", created: Math.floor(tools.now() / 1000), model };
  const finish = answer.truncated ? "length" : "stop";
  const usage = {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
  const choice = (text: string, finishReason: string | null) => ({ text, index: 0, logprobs: null, finish_reason: finishReason });
  if (request.stream !== true) return Response.json({ ...base, choices: [choice(answer.text, finish)], usage });
  const includeUsage = objectOf(request.stream_options)?.include_usage === true;
  return streamed(
    c,
    {
      head: [],
      content: answer.words.map((word) => sseFrame({ ...base, choices: [choice(word, null)] })),
      tail: [sseFrame({ ...base, choices: [choice("", finish)] }), ...(includeUsage ? [sseFrame({ ...base, choices: [], usage })] : [])],
      end: sseFrame("[DONE]"),
    },
    fault,
  );
}

const digestOf = (text: string) => createHash("sha256").update(text).digest();

async function images(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const request = objectOf(await c.req.json().catch(() => undefined)) ?? {};
  const fault = await admitted(c, tools, request.model, "images");
  if (fault instanceof Response) return fault;
  const prompt = String(request.prompt ?? "");
  const n = typeof request.n === "number" ? request.n : 1;
  const data = Array.from({ length: n }, (_, index) => {
    const digest = digestOf(`${prompt}\n${index}`);
    return request.response_format === "url"
      ? { url: `https://mock.invalid/images/${digest.toString("hex")}.png` }
      : { b64_json: digest.toString("base64") };
  });
  return Response.json({ created: Math.floor(tools.now() / 1000), data });
}

/**
 * Transcribes the uploaded file as a sentence naming its size, its SHA-256 and the model
 * asked, so a test can tell the whole file arrived intact and which model the provider saw.
 */
async function transcriptions(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const form = await c.req.formData().catch(() => undefined);
  const file = form?.get("file");
  const model = form?.get("model") ?? undefined;
  const fault = await admitted(c, tools, model, "transcription");
  if (fault instanceof Response) return fault;
  if (!(file instanceof Blob)) return send(openAiWire.error(400, "mock: file is required"));
  const sha256 = createHash("sha256")
    .update(new Uint8Array(await file.arrayBuffer()))
    .digest("hex");
  const text = `mock transcript of ${file.size} bytes (sha256 ${sha256}) by ${String(model)}`;
  const format = form?.get("response_format") ?? "json";
  if (format === "text" || format === "srt" || format === "vtt") return new Response(text, { headers: { "content-type": "text/plain" } });
  const tokens = countWords(text);
  return Response.json({ text, usage: { type: "tokens", input_tokens: 0, output_tokens: tokens, total_tokens: tokens } });
}

/** Audio bytes derived from the input, `speechBytes` long, sent in `speechPieceBytes` pieces. */
export const speechBytes = 64 * 1024;
export const speechPieceBytes = 4096;

/** Speech honours the stream faults too: `break-after=N` sends N pieces, then the connection breaks; `stall-after=N` goes silent. */
async function speech(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const request = objectOf(await c.req.json().catch(() => undefined)) ?? {};
  const fault = await admitted(c, tools, request.model, "speech");
  if (fault instanceof Response) return fault;
  const seed = digestOf(String(request.input ?? ""));
  const piece = new Uint8Array(speechPieceBytes).map((_, index) => seed[index % seed.length] ?? 0);
  const pieces = Array.from({ length: speechBytes / piece.length }, () => piece);
  const format = typeof request.response_format === "string" ? request.response_format : "mp3";
  const signal = c.env?.signal ?? c.req.raw.signal;
  const body = sseBody(pieceSteps(pieces, fault), fault.firstTokenDelayMs, signal, c.env?.dropMidBody);
  return new Response(body, { headers: { "content-type": format === "mp3" ? "audio/mpeg" : `audio/${format}` } });
}

/** Flags any input that mentions violence, and nothing else. */
async function moderations(c: MockContext, tools: MockEndpointTools): Promise<Response> {
  const request = objectOf(await c.req.json().catch(() => undefined)) ?? {};
  const fault = await admitted(c, tools, request.model, "moderation");
  if (fault instanceof Response) return fault;
  const inputs: unknown[] = Array.isArray(request.input) ? request.input : [request.input];
  const results = inputs.map((input) => {
    const flagged = /violen/i.test(typeof input === "string" ? input : JSON.stringify(input));
    return {
      flagged,
      categories: { violence: flagged, harassment: false },
      category_scores: { violence: flagged ? 0.99 : 0.01, harassment: 0.01 },
    };
  });
  return Response.json({ id: idOf("modr-"), model: String(request.model), results });
}

/** OpenAI's other endpoints, under `/openai/v1`. */
export function forwardedEndpoints(app: Hono<{ Bindings: MockBindings }>, tools: MockEndpointTools): void {
  app.post("/openai/v1/responses", (c) => responses(c, tools));
  app.post("/openai/v1/completions", (c) => completions(c, tools));
  app.post("/openai/v1/images/generations", (c) => images(c, tools));
  app.post("/openai/v1/audio/transcriptions", (c) => transcriptions(c, tools));
  app.post("/openai/v1/audio/speech", (c) => speech(c, tools));
  app.post("/openai/v1/moderations", (c) => moderations(c, tools));
}
