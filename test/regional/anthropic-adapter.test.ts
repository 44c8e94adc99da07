import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { fetchTransport } from "../../regional/providers/http.ts";
import { toMessagesRequest } from "../../regional/providers/anthropic/request.ts";
import type { CallContext } from "../../regional/providers/types.ts";
import { createTestApp, postJson, sseDataOf, type TestApp } from "../support/regional-app.ts";

// Fixtures follow the shapes of Anthropic's published Messages API examples (2023-06-01).
const fixture = (name: string) => readFile(new URL(`../fixtures/anthropic/${name}`, import.meta.url), "utf8");

interface Sent {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
}

type Answer = (sent: Sent) => Response | Promise<Response>;

/** Serves an SSE text in small pieces, so events arrive split as they do over a network. */
function sseResponse(text: string, pieceSize = 7): Response {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, (offset += pieceSize)));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const jsonResponse = (body: string | unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

let answer: Answer = () => jsonResponse({}, 500);
const sent: Sent[] = [];
const stubFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const record = { url: request.url, headers: request.headers, body: (await request.json()) as Record<string, unknown> };
  sent.push(record);
  return await answer(record);
};

const created = 1_760_000_000;
const anthropic = createAnthropicProvider({
  name: "anthropic",
  apiKey: "sk-ant-provider-secret",
  models: [{ id: "claude-sonnet-4-5", kind: "chat" }],
  transport: fetchTransport(stubFetch),
  now: () => created * 1000,
});

const context = (signal = new AbortController().signal): CallContext => ({ signal, requestId: "req-test" });
const ask = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Hello" }], ...extra });

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

async function failureOf(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

beforeEach(() => {
  sent.length = 0;
});

describe("anthropic adapter: request translation", () => {
  it("posts to /v1/messages with its own key and the API version", async () => {
    answer = async () => jsonResponse(await fixture("message-text.json"));
    await anthropic.chat(ask(), context());
    expect(sent[0]?.url).toBe("https://api.anthropic.com/v1/messages");
    expect(sent[0]?.headers.get("x-api-key")).toBe("sk-ant-provider-secret");
    expect(sent[0]?.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(sent[0]?.headers.get("content-type")).toBe("application/json");
    expect(sent[0]?.headers.get("authorization")).toBeNull();
  });

  it("hoists system and developer messages, merges turns, and maps tools, sampling and the user", async () => {
    answer = async () => jsonResponse(await fixture("message-text.json"));
    const weather = { type: "object", properties: { location: { type: "string" } }, required: ["location"] };
    await anthropic.chat(
      {
        model: "claude-sonnet-4-5",
        messages: [
          { role: "system", content: "You are terse." },
          { role: "developer", content: [{ type: "text", text: "Answer in English." }] },
          { role: "user", content: "Hi" },
          { role: "user", content: [{ type: "text", text: "What is in this image?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
          { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }] },
          { role: "tool", tool_call_id: "toolu_1", content: "18°C and sunny" },
          { role: "user", content: "And tomorrow?" },
        ],
        temperature: 1.6,
        top_p: 0.9,
        stop: "END",
        user: "user-42",
        presence_penalty: 0.5,
        seed: 7,
        tools: [{ type: "function", function: { name: "get_weather", description: "Weather for a place", parameters: weather } }],
        tool_choice: "required",
      },
      context(),
    );
    expect(sent[0]?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      system: "You are terse.\n\nAnswer in English.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Hi" },
            { type: "text", text: "What is in this image?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Paris" } }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "18°C and sunny" },
            { type: "text", text: "And tomorrow?" },
          ],
        },
      ],
      stop_sequences: ["END"],
      temperature: 1,
      top_p: 0.9,
      tools: [{ name: "get_weather", description: "Weather for a place", input_schema: weather }],
      tool_choice: { type: "any" },
      metadata: { user_id: "user-42" },
    });
  });

  it("asks for a stream with stream: true", async () => {
    answer = async () => sseResponse(await fixture("stream-text.sse"));
    await collect(await anthropic.chatStream(ask({ stream: true, stream_options: { include_usage: true } }), context()));
    expect(sent[0]?.body).toEqual({ model: "claude-sonnet-4-5", max_tokens: 4096, messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }], stream: true });
  });

  it("prefers max_completion_tokens, then max_tokens, then the default", () => {
    const defaults = { maxTokens: 1024 };
    expect(toMessagesRequest(ask({ max_completion_tokens: 50, max_tokens: 80 }), defaults).max_tokens).toBe(50);
    expect(toMessagesRequest(ask({ max_tokens: 80 }), defaults).max_tokens).toBe(80);
    expect(toMessagesRequest(ask(), defaults).max_tokens).toBe(1024);
  });

  it("keeps a stop list and a temperature within Anthropic's range as given", () => {
    const body = toMessagesRequest(ask({ stop: ["a", "b"], temperature: 0.3 }), { maxTokens: 1 });
    expect(body.stop_sequences).toEqual(["a", "b"]);
    expect(body.temperature).toBe(0.3);
  });

  it.each([
    ["auto", undefined, { type: "auto" }],
    ["none", undefined, { type: "none" }],
    ["required", undefined, { type: "any" }],
    [{ type: "function", function: { name: "get_weather" } }, undefined, { type: "tool", name: "get_weather" }],
    ["auto", false, { type: "auto", disable_parallel_tool_use: true }],
    [undefined, false, { type: "auto", disable_parallel_tool_use: true }],
    [undefined, undefined, undefined],
  ])("maps tool_choice %j (parallel_tool_calls %j)", (toolChoice, parallel, expected) => {
    const tools = [{ type: "function", function: { name: "get_weather" } }];
    const body = toMessagesRequest(ask({ tools, ...(toolChoice !== undefined && { tool_choice: toolChoice }), ...(parallel !== undefined && { parallel_tool_calls: parallel }) }), { maxTokens: 1 });
    expect(body.tool_choice).toEqual(expected);
    expect(body.tools).toEqual([{ name: "get_weather", input_schema: { type: "object", properties: {} } }]);
  });

  it("sends an https image as a URL source", () => {
    const body = toMessagesRequest(ask({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }] }] }), { maxTokens: 1 });
    expect(body.messages[0]?.content).toEqual([{ type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }]);
  });

  it.each([
    [{ n: 2 }, "n"],
    [{ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }] }, "messages[0].content[0]"],
    [{ messages: [{ role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{oops" } }] }] }, "messages[0].tool_calls[0].function.arguments"],
    [{ messages: [{ role: "tool", content: "42" }] }, "messages[0].tool_call_id"],
    [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }] }, "messages[0].content[0].image_url.url"],
    [{ tools: [{ type: "code_interpreter" }] }, "tools[0]"],
  ])("refuses what Anthropic cannot take (%j) as invalid_request naming the field", (extra, param) => {
    let error: unknown;
    try {
      toMessagesRequest(ask(extra as Partial<ChatCompletionRequest>), { maxTokens: 1 });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "invalid_request", param });
  });
});

describe("anthropic adapter: answers", () => {
  it("turns a message into an OpenAI chat completion with usage", async () => {
    answer = async () => jsonResponse(await fixture("message-text.json"));
    const completion = await anthropic.chat(ask(), context());
    expect(completion).toEqual<ChatCompletion>({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      object: "chat.completion",
      created,
      model: "claude-sonnet-4-5-20250929",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?", refusal: null }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 },
      system_fingerprint: null,
    });
  });

  it("turns tool_use blocks into tool calls with JSON arguments, counting cached prompt tokens", async () => {
    answer = async () => jsonResponse(await fixture("message-tool-use.json"));
    const completion = await anthropic.chat(ask(), context());
    expect(completion.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: "I'll check the current weather in San Francisco for you.",
          refusal: null,
          tool_calls: [{ id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "get_weather", arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } }],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 484, completion_tokens: 73, total_tokens: 557 });
  });

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
  ])("reads stop_reason %s as finish_reason %s", async (stopReason, finishReason) => {
    const message = JSON.parse(await fixture("message-text.json")) as Record<string, unknown>;
    answer = () => jsonResponse({ ...message, stop_reason: stopReason });
    expect((await anthropic.chat(ask(), context())).choices[0]?.finish_reason).toBe(finishReason);
  });

  it("fails on a malformed body", async () => {
    answer = () => jsonResponse("{not json");
    expect(await failureOf(anthropic.chat(ask(), context()))).toMatchObject({ code: "upstream_error" });
  });
});

describe("anthropic adapter: streams", () => {
  const base = { id: "msg_01PPTB1VfAYm5zB6hT3hLW8y", object: "chat.completion.chunk", created, model: "claude-sonnet-4-5-20250929", system_fingerprint: null };
  const choice = (delta: Record<string, unknown>, finish: string | null = null) => [{ index: 0, delta, finish_reason: finish, logprobs: null }];

  it("turns text events into chunks: role first, content, finish reason, then usage", async () => {
    answer = async () => sseResponse(await fixture("stream-text.sse"));
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), context()));
    expect(chunks).toEqual([
      { ...base, choices: choice({ role: "assistant", content: "", refusal: null }) },
      { ...base, choices: choice({ content: "Hello" }) },
      { ...base, choices: choice({ content: "! How can I" }) },
      { ...base, choices: choice({ content: " help you today?" }) },
      { ...base, choices: choice({}, "stop") },
      { ...base, choices: [], usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 } },
    ]);
  });

  it("turns tool_use blocks and input_json_delta into tool call deltas", async () => {
    answer = async () => sseResponse(await fixture("stream-tool-use.sse"));
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), context()));
    const toolBase = { ...base, id: "msg_014p7gG3wDgGV9EUtLvnow3U" };
    const args = (text: string) => ({ ...toolBase, choices: choice({ tool_calls: [{ index: 0, function: { arguments: text } }] }) });
    expect(chunks).toEqual([
      { ...toolBase, choices: choice({ role: "assistant", content: "", refusal: null }) },
      { ...toolBase, choices: choice({ content: "Okay" }) },
      { ...toolBase, choices: choice({ content: ", let's check the weather for San Francisco, CA:" }) },
      { ...toolBase, choices: choice({ tool_calls: [{ index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", type: "function", function: { name: "get_weather", arguments: "" } }] }) },
      args('{"location":'),
      args(' "San Fra'),
      args('ncisco, CA"'),
      args(', "unit": "fah'),
      args('renheit"}'),
      { ...toolBase, choices: choice({}, "tool_calls") },
      { ...toolBase, choices: [], usage: { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 } },
    ]);
  });

  it("fails with a retryable 529 upstream_error on an overloaded_error event mid-stream", async () => {
    answer = async () => sseResponse(await fixture("stream-overloaded.sse"));
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of await anthropic.chatStream(ask({ stream: true }), context())) seen.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    );
    expect(seen.join("")).toBe("Once upon");
    expect(error).toMatchObject({ code: "upstream_error", upstreamStatus: 529 });
    expect(error.message).toContain("Overloaded");
  });

  it("fails a stream that ends before its stop reason", async () => {
    const text = await fixture("stream-text.sse");
    answer = () => sseResponse(text.slice(0, text.indexOf("event: content_block_stop")));
    const error = await failureOf(collect(await anthropic.chatStream(ask({ stream: true }), context())));
    expect(error).toMatchObject({ code: "upstream_error" });
    expect(error.message).toMatch(/before the answer was complete/);
  });

  it("accepts a stream that ends after its stop reason without message_stop", async () => {
    const text = await fixture("stream-text.sse");
    answer = () => sseResponse(text.slice(0, text.indexOf("event: message_stop")));
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), context()));
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 });
  });

  it("skips events that cannot be read between valid ones, reports each one's size but never its content, and completes", async () => {
    const text = await fixture("stream-text.sse");
    const secret = "user secret text";
    const unreadable = [`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${secret}`, `{"no_type":"${secret}"}`];
    const at = text.indexOf("event: content_block_delta");
    answer = () => sseResponse(`${text.slice(0, at)}${unreadable.map((data) => `event: content_block_delta\ndata: ${data}\n\n`).join("")}${text.slice(at)}`);
    const reported: unknown[] = [];
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), { ...context(), onMalformedChunk: (detail) => void reported.push(detail) }));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello! How can I help you today?");
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(reported).toEqual(unreadable.map((data) => ({ bytes: new TextEncoder().encode(data).byteLength })));
    expect(JSON.stringify(reported)).not.toContain(secret);
  });

  it("still fails a stream whose only events cannot be read: it ends before its stop reason", async () => {
    answer = () => sseResponse('event: message_start\ndata: {"type":"message_st\n\n');
    const error = await failureOf(collect(await anthropic.chatStream(ask({ stream: true }), context())));
    expect(error).toMatchObject({ code: "upstream_error" });
    expect(error.message).toMatch(/before the answer was complete/);
  });
});

describe("anthropic adapter: errors", () => {
  it.each([
    ["error-overloaded.json", 529, {}, { code: "upstream_error", upstreamStatus: 529 }],
    ["error-rate-limit.json", 429, { "retry-after": "30" }, { code: "rate_limited", upstreamStatus: 429, retryAfterS: 30 }],
    ["error-prompt-too-long.json", 400, {}, { code: "context_length_exceeded", upstreamStatus: 400, message: "prompt is too long: 205351 tokens > 200000 maximum" }],
  ])("maps %s (%i)", async (name, status, headers, expected) => {
    const body = await fixture(name);
    answer = () => jsonResponse(body, status, headers);
    expect(await failureOf(anthropic.chat(ask(), context()))).toMatchObject(expected);
  });

  const body = (type: string, message: string) => ({ type: "error", error: { type, message }, request_id: "req_1" });
  it.each([
    [400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1", "invalid_request"],
    [400, "invalid_request_error", "Output blocked by content filtering policy", "content_policy_violation"],
    [401, "authentication_error", "invalid x-api-key", "upstream_error"],
    [403, "permission_error", "Your API key does not have permission to use the specified resource.", "upstream_error"],
    [404, "not_found_error", "model: claude-nope", "model_not_found"],
    [413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", "payload_too_large"],
    [500, "api_error", "Internal server error", "upstream_error"],
  ])("maps %i %s to %s", async (status, type, message, code) => {
    answer = () => jsonResponse(body(type, message), status);
    const error = await failureOf(anthropic.chat(ask(), context()));
    expect(error).toMatchObject({ code, upstreamStatus: status });
    // Our own credentials being refused is never reported as the client's fault.
    if (status === 401) expect(error.message).not.toContain("x-api-key");
  });

  it("maps a refused connection to a retryable upstream_error", async () => {
    answer = () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    };
    const error = await failureOf(anthropic.chat(ask(), context()));
    expect(error).toMatchObject({ code: "upstream_error", upstreamStatus: undefined });
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("lists no embedding models and refuses embeddings", async () => {
    expect(anthropic.models().every((model) => model.kind === "chat")).toBe(true);
    expect(await failureOf(anthropic.embeddings({ model: "claude-sonnet-4-5", input: "x" }, context()))).toMatchObject({ code: "invalid_request" });
  });
});

describe("anthropic adapter through the app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"), { providers: [anthropic] });
  });
  afterAll(async () => t?.close());

  const post = (body: Record<string, unknown>) => t.app.request(postJson("/v1/chat/completions", { model: "anthropic/claude-sonnet-4-5", messages: [{ role: "user", content: "Hello" }], ...body }, t.apiKey));

  it("answers an OpenAI client with the translated completion", async () => {
    answer = async () => jsonResponse(await fixture("message-text.json"));
    const response = await post({});
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("anthropic");
    const body = (await response.json()) as ChatCompletion;
    expect(body.model).toBe("anthropic/claude-sonnet-4-5-20250929");
    expect(body.choices[0]?.message.content).toBe("Hello! How can I help you today?");
    expect(body.usage).toEqual({ prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 });
  });

  it("streams past an event that cannot be read and ends with [DONE]", async () => {
    const text = await fixture("stream-text.sse");
    const at = text.indexOf("event: content_block_delta");
    answer = () => sseResponse(`${text.slice(0, at)}event: content_block_delta\ndata: {"type":"content_blo\n\n${text.slice(at)}`);
    const events = await sseDataOf(await post({ stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello! How can I help you today?");
  });

  it("streams translated chunks and ends with [DONE]", async () => {
    answer = async () => sseResponse(await fixture("stream-text.sse"));
    const events = await sseDataOf(await post({ stream: true }));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as ChatCompletionChunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello! How can I help you today?");
    expect(chunks.every((chunk) => chunk.model === "anthropic/claude-sonnet-4-5-20250929")).toBe(true);
  });

  it("answers a prompt that is too long with 400 context_length_exceeded", async () => {
    const body = await fixture("error-prompt-too-long.json");
    answer = () => jsonResponse(body, 400);
    const response = await post({});
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("context_length_exceeded");
  });
});
