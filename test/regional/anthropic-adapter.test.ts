import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { GatewayError } from "../../shared/error.ts";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { fetchTransport } from "../../regional/providers/http.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { anthropicCapabilities } from "../../regional/providers/anthropic/models.ts";
import { toMessagesRequest } from "../../regional/providers/anthropic/request.ts";
import { fromMessage } from "../../regional/providers/anthropic/response.ts";
import type { Message } from "../../regional/providers/anthropic/wire.ts";
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
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

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
const ask = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: "claude-sonnet-4-5",
  messages: [{ role: "user", content: "Hello" }],
  ...extra,
});

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
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this image?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            ],
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }],
          },
          { role: "tool", tool_call_id: "toolu_1", content: "18°C and sunny" },
          { role: "user", content: "And tomorrow?" },
        ],
        temperature: 1.6,
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
      tools: [{ name: "get_weather", description: "Weather for a place", input_schema: weather }],
      tool_choice: { type: "any" },
      metadata: { user_id: "user-42" },
    });
  });

  it("asks for a stream with stream: true", async () => {
    answer = async () => sseResponse(await fixture("stream-text.sse"));
    await collect(await anthropic.chatStream(ask({ stream: true, stream_options: { include_usage: true } }), context()));
    expect(sent[0]?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
      stream: true,
    });
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
    const body = toMessagesRequest(
      ask({
        tools,
        ...(toolChoice !== undefined && { tool_choice: toolChoice }),
        ...(parallel !== undefined && { parallel_tool_calls: parallel }),
      }),
      { maxTokens: 1 },
    );
    expect(body.tool_choice).toEqual(expected);
    expect(body.tools).toEqual([{ name: "get_weather", input_schema: { type: "object", properties: {} } }]);
  });

  it("sends an https image as a URL source", () => {
    const body = toMessagesRequest(
      ask({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }] }] }),
      { maxTokens: 1 },
    );
    expect(body.messages[0]?.content).toEqual([{ type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }]);
  });

  it.each([
    [{ n: 2 }, "n"],
    [
      { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }] },
      "messages[0].content[0]",
    ],
    [
      { messages: [{ role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{oops" } }] }] },
      "messages[0].tool_calls[0].function.arguments",
    ],
    [{ messages: [{ role: "tool", content: "42" }] }, "messages[0].tool_call_id"],
    [
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }] },
      "messages[0].content[0].image_url.url",
    ],
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

describe("anthropic adapter: what each model accepts", () => {
  /** The GatewayError a translation throws, or undefined. */
  const refusal = (extra: Partial<ChatCompletionRequest>, model = "claude-sonnet-4-5"): unknown => {
    try {
      toMessagesRequest(ask({ model, ...extra }), { maxTokens: 1 });
    } catch (error) {
      return error;
    }
    return undefined;
  };

  // platform.claude.com, Messages API: "You should either alter temperature or top_p, but not
  // both"; Opus 4.1 and the 4.5 generation answer 400 "`temperature` and `top_p` cannot both be
  // specified for this model. Please use only one."
  it("refuses temperature with top_p before sending, naming top_p", async () => {
    expect(refusal({ temperature: 0.3, top_p: 0.9 })).toMatchObject({
      code: "invalid_request",
      param: "top_p",
      message: expect.stringContaining("set only one"),
    });
    expect(await failureOf(anthropic.chat(ask({ temperature: 0.3, top_p: 0.9 }), context()))).toMatchObject({
      code: "invalid_request",
      param: "top_p",
    });
    expect(sent).toHaveLength(0);
  });

  it("leaves out a neutral top_p or temperature of 1 sent beside the other: the answer is the same", () => {
    const withTopP1 = toMessagesRequest(ask({ temperature: 0.3, top_p: 1 }), { maxTokens: 1 });
    expect(withTopP1).toMatchObject({ temperature: 0.3 });
    expect(withTopP1).not.toHaveProperty("top_p");
    const withTemperature1 = toMessagesRequest(ask({ temperature: 1, top_p: 0.5 }), { maxTokens: 1 });
    expect(withTemperature1).toMatchObject({ top_p: 0.5 });
    expect(withTemperature1).not.toHaveProperty("temperature");
  });

  it("sends both when the model entry says the model takes them", () => {
    const capabilities = { ...anthropicCapabilities("claude-3-5-sonnet-20241022"), temperatureWithTopP: true };
    expect(
      toMessagesRequest(ask({ model: "claude-3-5-sonnet-20241022", temperature: 0.3, top_p: 0.9 }), { maxTokens: 1, capabilities }),
    ).toMatchObject({ temperature: 0.3, top_p: 0.9 });
  });

  // Anthropic: 400 "stop_sequences: each stop sequence must contain non-whitespace" (BerriAI/litellm#3286).
  it.each([
    ["\n", "stop"],
    [" ", "stop"],
    ["", "stop"],
    [["END", "\n\n"], "stop[1]"],
  ])("refuses the stop sequence %j, which Anthropic rejects, naming %s", (stop, param) => {
    expect(refusal({ stop })).toMatchObject({ code: "invalid_request", param, message: expect.stringContaining("whitespace") });
  });

  it.each([
    ["claude-3-5-sonnet-20241022", true, []],
    ["claude-sonnet-4-20250514", true, []],
    ["claude-opus-4-1", true, []],
    ["claude-haiku-4-5", true, ["json_schema"]],
    ["claude-sonnet-4-5-20250929", true, ["json_schema"]],
    ["claude-opus-4-6", false, ["json_schema"]],
    ["claude-sonnet-4-6", false, ["json_schema"]],
    ["claude-opus-5", false, ["json_schema"]],
  ])("knows from Anthropic's docs what %s accepts: prefill %s, response formats %j", (model, prefill, formats) => {
    expect(anthropicCapabilities(model)).toEqual({
      streamOptions: false,
      temperatureWithTopP: false,
      prefill,
      tools: true,
      responseFormat: formats,
    });
  });

  const prefilled = (model: string) =>
    ask({
      model,
      messages: [
        { role: "user", content: "What is your favorite color?" },
        { role: "assistant", content: "As an AI assistant, I" },
      ],
    });

  // platform.claude.com, prefill-claudes-response: the answer continues from the final assistant message.
  it("sends a final assistant message to a model that continues it", () => {
    expect(toMessagesRequest(prefilled("claude-sonnet-4-5"), { maxTokens: 1 }).messages.at(-1)).toEqual({
      role: "assistant",
      content: [{ type: "text", text: "As an AI assistant, I" }],
    });
  });

  // platform.claude.com, What's new in Claude 4.6: "Prefilling assistant messages returns a 400 error on Claude 4.6 models."
  it("refuses a final assistant message for a model that does not continue one, naming the message", async () => {
    const error = await failureOf(anthropic.chat(prefilled("claude-opus-4-6"), context()));
    expect(error).toMatchObject({
      code: "invalid_request",
      param: "messages[1]",
      message: expect.stringContaining("anthropic/claude-opus-4-6 does not continue"),
    });
    expect(sent).toHaveLength(0);
  });

  // anthropics/anthropic-sdk-typescript src/resources/messages/messages.ts: OutputConfig.format is
  // JSONOutputFormat { type: "json_schema"; schema }.
  it("sends a json_schema response format as output_config.format, its description inside the schema", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
    const body = toMessagesRequest(
      ask({ response_format: { type: "json_schema", json_schema: { name: "reply", description: "The reply", schema, strict: true } } }),
      { maxTokens: 1 },
    );
    expect(body.output_config).toEqual({ format: { type: "json_schema", schema: { ...schema, description: "The reply" } } });
  });

  it("sends nothing for the text response format, Anthropic's default", () => {
    expect(toMessagesRequest(ask({ response_format: { type: "text" } }), { maxTokens: 1 })).not.toHaveProperty("output_config");
  });

  it.each([
    [{ response_format: { type: "json_object" } }, "claude-sonnet-4-5", "response_format"],
    [
      { response_format: { type: "json_schema", json_schema: { name: "reply" } } },
      "claude-sonnet-4-5",
      "response_format.json_schema.schema",
    ],
    [
      { response_format: { type: "json_schema", json_schema: { name: "reply", schema: { type: "object" } } } },
      "claude-3-5-haiku-20241022",
      "response_format",
    ],
  ])("refuses a response format it cannot honour (%j on %s) rather than dropping it, naming %s", (extra, model, param) => {
    expect(refusal(extra as Partial<ChatCompletionRequest>, model)).toMatchObject({ code: "invalid_request", param });
  });

  it("refuses tools for a model its entry says takes none", () => {
    const capabilities = { ...anthropicCapabilities("claude-sonnet-4-5"), tools: false };
    const tools = [{ type: "function", function: { name: "get_weather" } }];
    expect(() => toMessagesRequest(ask({ tools }), { maxTokens: 1, capabilities })).toThrow(
      expect.objectContaining({ code: "invalid_request", param: "tools" }),
    );
  });

  it("says what each of its models accepts, entry settings over Anthropic's defaults", () => {
    const configured = createAnthropicProvider({
      name: "claude",
      apiKey: "k",
      models: [
        { id: "claude-opus-4-6", kind: "chat" },
        { id: "claude-sonnet-4-5", kind: "chat", capabilities: { temperatureWithTopP: true } },
      ],
      capabilities: { tools: false },
    });
    expect(configured.capabilities?.("claude-opus-4-6")).toEqual({
      streamOptions: false,
      temperatureWithTopP: false,
      prefill: false,
      tools: false,
      responseFormat: ["json_schema"],
    });
    expect(configured.capabilities?.("claude-sonnet-4-5")).toEqual({
      streamOptions: false,
      temperatureWithTopP: true,
      prefill: true,
      tools: false,
      responseFormat: ["json_schema"],
    });
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
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello! How can I help you today?", refusal: null },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24, prompt_tokens_details: { cached_tokens: 0 } },
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
          tool_calls: [
            {
              id: "toolu_01A09q90qw90lq917835lq9",
              type: "function",
              function: { name: "get_weather", arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
            },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ]);
    // 384 uncached + 100 read from the cache: OpenAI's prompt_tokens counts both and says how many were cached.
    expect(completion.usage).toEqual({
      prompt_tokens: 484,
      completion_tokens: 73,
      total_tokens: 557,
      prompt_tokens_details: { cached_tokens: 100 },
    });
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
  const base = {
    id: "msg_01PPTB1VfAYm5zB6hT3hLW8y",
    object: "chat.completion.chunk",
    created,
    model: "claude-sonnet-4-5-20250929",
    system_fingerprint: null,
  };
  const choice = (delta: Record<string, unknown>, finish: string | null = null) => [
    { index: 0, delta, finish_reason: finish, logprobs: null },
  ];

  it("turns text events into chunks: role first, content, finish reason, then usage", async () => {
    answer = async () => sseResponse(await fixture("stream-text.sse"));
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), context()));
    expect(chunks).toEqual([
      { ...base, choices: choice({ role: "assistant", content: "", refusal: null }) },
      { ...base, choices: choice({ content: "Hello" }) },
      { ...base, choices: choice({ content: "! How can I" }) },
      { ...base, choices: choice({ content: " help you today?" }) },
      { ...base, choices: choice({}, "stop") },
      {
        ...base,
        choices: [],
        usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } },
      },
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
      {
        ...toolBase,
        choices: choice({
          tool_calls: [
            { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", type: "function", function: { name: "get_weather", arguments: "" } },
          ],
        }),
      },
      args('{"location":'),
      args(' "San Fra'),
      args('ncisco, CA"'),
      args(', "unit": "fah'),
      args('renheit"}'),
      { ...toolBase, choices: choice({}, "tool_calls") },
      { ...toolBase, choices: [], usage: { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 } },
    ]);
  });

  // anthropics/anthropic-sdk-typescript src/internal/message-stream-utils.ts: an empty input buffer reads as {}.
  it("gives a tool call streamed without arguments the same '{}' the non-streamed answer has", async () => {
    answer = async () => sseResponse(await fixture("stream-tool-no-arguments.sse"));
    const chunks = await collect(await anthropic.chatStream(ask({ stream: true }), context()));
    const calls = chunks.flatMap(
      (chunk) => (chunk.choices[0]?.delta.tool_calls as Array<{ index: number; function: { arguments: string } }> | undefined) ?? [],
    );
    const streamed = calls.map((call) => call.function.arguments).join("");
    const message: Message = {
      id: "msg_019Q1hrJbZG26Fb9BQhrkHEr",
      type: "message",
      role: "assistant",
      model: "claude-opus-4-8",
      content: [{ type: "tool_use", id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_weather", input: {} }],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 377, output_tokens: 65 },
    };
    const whole = fromMessage(message, created).choices[0]?.message.tool_calls as Array<{ function: { arguments: string } }>;
    expect(streamed).toBe("{}");
    expect(streamed).toBe(whole[0]?.function.arguments);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("fails with a retryable 529 upstream_error on an overloaded_error event mid-stream", async () => {
    answer = async () => sseResponse(await fixture("stream-overloaded.sse"));
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of await anthropic.chatStream(ask({ stream: true }), context()))
          seen.push(chunk.choices[0]?.delta.content ?? "");
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
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 25,
      completion_tokens: 15,
      total_tokens: 40,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });

  it("skips events that cannot be read between valid ones, reports each one's size but never its content, and completes", async () => {
    const text = await fixture("stream-text.sse");
    const secret = "user secret text";
    const unreadable = [
      `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${secret}`,
      `{"no_type":"${secret}"}`,
    ];
    const at = text.indexOf("event: content_block_delta");
    answer = () =>
      sseResponse(
        `${text.slice(0, at)}${unreadable.map((data) => `event: content_block_delta\ndata: ${data}\n\n`).join("")}${text.slice(at)}`,
      );
    const reported: unknown[] = [];
    const chunks = await collect(
      await anthropic.chatStream(ask({ stream: true }), { ...context(), onMalformedChunk: (detail) => void reported.push(detail) }),
    );
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
    [
      "error-prompt-too-long.json",
      400,
      {},
      { code: "context_length_exceeded", upstreamStatus: 400, message: "prompt is too long: 205351 tokens > 200000 maximum" },
    ],
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

  // Our account cannot pay: cool the target down long and move on, never retry (README, outcome classes).
  it.each([
    ["error-billing.json", 402],
    ["error-spend-limit.json", 429],
    ["error-own-spend-limit.json", 402],
  ])("maps %s as 'this provider cannot serve now': upstream status %i, a long cool-down, no retry", async (name, upstreamStatus) => {
    const { status, body } = JSON.parse(await fixture(name)) as { status: number; body: unknown };
    answer = () => jsonResponse(body, status);
    const error = await failureOf(anthropic.chat(ask(), context()));
    expect(error).toMatchObject({ code: "upstream_error", upstreamStatus, retry: false, retryAfterS: 300 });
    expect(error.message).toContain("anthropic cannot serve now");
  });

  it("keeps an ordinary rate limit a rate limit: retried after its Retry-After", async () => {
    answer = async () => jsonResponse(await fixture("error-rate-limit.json"), 429, { "retry-after": "30" });
    const error = await failureOf(anthropic.chat(ask(), context()));
    expect(error).toMatchObject({ code: "rate_limited", upstreamStatus: 429, retryAfterS: 30 });
    expect(error.retry).toBeUndefined();
  });

  // docs.anthropic.com "Rate limits", response headers: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset
  // is an RFC 3339 time beside a -remaining count; a 429 that sends no retry-after is waited on until the exhausted one resets.
  it("reads how long a 429 asks to wait from anthropic-ratelimit-*-reset when it sends no Retry-After", async () => {
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const headers = {
      "anthropic-ratelimit-requests-remaining": "12",
      "anthropic-ratelimit-requests-reset": at(5),
      "anthropic-ratelimit-input-tokens-remaining": "0",
      "anthropic-ratelimit-input-tokens-reset": at(45),
    };
    answer = async () => jsonResponse(await fixture("error-rate-limit.json"), 429, headers);
    const error = await failureOf(anthropic.chat(ask(), context()));
    expect(error).toMatchObject({ code: "rate_limited", upstreamStatus: 429 });
    expect(error.retryAfterS).toBeGreaterThan(40);
    expect(error.retryAfterS).toBeLessThanOrEqual(45);
  });

  // anthropics/anthropic-sdk-typescript src/client.ts shouldRetry: "If the server explicitly says whether or not to retry, obey."
  it.each([
    ["false", 529, false],
    ["true", 400, true],
  ])("carries x-should-retry: %s on a %i as the provider's own retry hint", async (header, status, retry) => {
    answer = async () =>
      jsonResponse(body(status === 529 ? "overloaded_error" : "invalid_request_error", "x"), status, { "x-should-retry": header });
    expect(await failureOf(anthropic.chat(ask(), context()))).toMatchObject({ upstreamStatus: status, retry });
  });

  // The official SDKs read retry-after-ms before retry-after.
  it("prefers retry-after-ms to Retry-After", async () => {
    answer = async () => jsonResponse(await fixture("error-rate-limit.json"), 429, { "retry-after-ms": "1500", "retry-after": "30" });
    expect(await failureOf(anthropic.chat(ask(), context()))).toMatchObject({ retryAfterS: 1.5 });
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
    expect(await failureOf(anthropic.embeddings({ model: "claude-sonnet-4-5", input: "x" }, context()))).toMatchObject({
      code: "invalid_request",
    });
  });
});

describe("anthropic adapter through the app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"), { providers: [anthropic] });
  });
  afterAll(async () => t?.close());

  const post = (body: Record<string, unknown>) =>
    t.app.request(
      postJson(
        "/v1/chat/completions",
        { model: "anthropic/claude-sonnet-4-5", messages: [{ role: "user", content: "Hello" }], ...body },
        t.apiKey,
      ),
    );

  it("answers an OpenAI client with the translated completion", async () => {
    answer = async () => jsonResponse(await fixture("message-text.json"));
    const response = await post({});
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("anthropic");
    const body = (await response.json()) as ChatCompletion;
    expect(body.model).toBe("anthropic/claude-sonnet-4-5-20250929");
    expect(body.choices[0]?.message.content).toBe("Hello! How can I help you today?");
    expect(body.usage).toEqual({ prompt_tokens: 12, completion_tokens: 12, total_tokens: 24, prompt_tokens_details: { cached_tokens: 0 } });
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

describe("anthropic adapter in a route", () => {
  let t: TestApp;
  const target = "anthropic/claude-sonnet-4-5";
  beforeAll(async () => {
    const routes = {
      routes: {
        chat: {
          targets: [
            { provider: "anthropic", model: "claude-sonnet-4-5" },
            { provider: "mock", model: "echo" },
          ],
        },
      },
    };
    t = await createTestApp(inject("primaryUrl"), { providers: [anthropic, createMockProvider()], routes });
  });
  afterAll(async () => t?.close());

  const post = (body: Record<string, unknown> = {}) =>
    t.app.request(postJson("/v1/chat/completions", { model: "chat", messages: [{ role: "user", content: "Hello" }], ...body }, t.apiKey));

  it.each(["error-billing.json", "error-spend-limit.json", "error-own-spend-limit.json"])(
    "moves on at once from %s, and skips the provider while it cools down",
    async (name) => {
      t.deps.router.coolDowns.clear(target);
      const { status, body } = JSON.parse(await fixture(name)) as { status: number; body: unknown };
      answer = () => jsonResponse(body, status);
      const first = await post();
      expect(first.status).toBe(200);
      expect(first.headers.get("x-breakwater-provider")).toBe("mock");
      expect(first.headers.get("x-breakwater-attempts")).toBe("2");
      expect(sent).toHaveLength(1);
      const second = await post();
      expect(second.headers.get("x-breakwater-provider")).toBe("mock");
      expect(sent).toHaveLength(1);
      t.deps.router.coolDowns.clear(target);
    },
  );

  it("answers a request the model cannot take with 400 invalid_request naming the param, sending nothing", async () => {
    const response = await post({ model: target, temperature: 0.2, top_p: 0.5 });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({ code: "invalid_request", param: "top_p" });
    expect(sent).toHaveLength(0);
  });
});
