import { readFile } from "node:fs/promises";
import { beforeEach, describe, expect, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import type { EmbeddingsResponse } from "../../shared/contract/embeddings.ts";
import { createAnthropicProvider } from "../../regional/providers/anthropic/index.ts";
import { fetchTransport } from "../../regional/providers/http.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { CallContext } from "../../regional/providers/types.ts";

/**
 * Contract tests: each adapter against its provider's published examples (fixtures name
 * their source: OpenAI's OpenAPI file, Anthropic's docs and official SDK test fixtures).
 * What goes out must be what the provider documents, field by field; what comes back from
 * a documented answer must be what an OpenAI client expects. A drift in either direction —
 * an adapter sending a field the API does not have, or misreading a documented answer —
 * fails here.
 */

const text = (path: string) => readFile(new URL(`../fixtures/${path}`, import.meta.url), "utf8");
const json = async <T>(path: string) => JSON.parse(await text(path)) as T;

interface Example<Request, Response> {
  source: string;
  request: Request;
  response: Response;
}

interface Sent {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
}

let reply: () => Response = () => new Response(null, { status: 500 });
const sent: Sent[] = [];
const transport = fetchTransport(async (input, init) => {
  const request = new Request(input, init);
  sent.push({ url: request.url, headers: request.headers, body: (await request.json()) as Record<string, unknown> });
  return reply();
});

beforeEach(() => {
  sent.length = 0;
});

const context = (): CallContext => ({ signal: new AbortController().signal, requestId: "req-contract" });
const jsonReply = (body: unknown) => () => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
const sseReply = (body: string) => () => new Response(body, { headers: { "content-type": "text/event-stream" } });

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/** The `data:` payloads of an SSE fixture, without the closing `[DONE]`. */
const dataOf = (sse: string) =>
  sse
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice("data: ".length)) as unknown);

/** Fields the body sends that the provider's schema does not list. */
const undocumented = (body: Record<string, unknown>, documented: string[]) =>
  Object.keys(body).filter((field) => !documented.includes(field));

describe("OpenAI-compatible adapter against OpenAI's published API (openai/openai-openapi 2.3.0)", () => {
  const openai = createOpenAiProvider({
    name: "openai",
    baseUrl: "https://api.openai.com/v1",
    apiKey: "sk-contract",
    models: [
      { id: "gpt-5.4", kind: "chat" },
      { id: "gpt-4o-mini", kind: "chat" },
      { id: "text-embedding-ada-002", kind: "embeddings" },
    ],
    transport,
  });
  const fields = () => json<{ chatCompletion: string[]; embedding: string[] }>("openai/request-fields.json");

  it("chat completion: sends the documented request and returns the documented answer as it is", async () => {
    const example = await json<Example<ChatCompletionRequest, ChatCompletion>>("openai/chat-completion.json");
    reply = jsonReply(example.response);
    const completion = await openai.chat(example.request, context());
    expect(sent[0]?.url).toBe("https://api.openai.com/v1/chat/completions");
    expect(sent[0]?.headers.get("authorization")).toBe("Bearer sk-contract");
    expect(sent[0]?.headers.get("content-type")).toBe("application/json");
    expect(sent[0]?.body).toEqual({ ...example.request, stream: false });
    expect(undocumented(sent[0]?.body ?? {}, (await fields()).chatCompletion)).toEqual([]);
    expect(completion).toEqual(example.response);
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
  });

  it("chat completion with tools: sends the documented tools and returns the documented tool call", async () => {
    const example = await json<Example<ChatCompletionRequest, ChatCompletion>>("openai/chat-tool-call.json");
    reply = jsonReply(example.response);
    const completion = await openai.chat(example.request, context());
    expect(sent[0]?.body).toEqual({ ...example.request, stream: false });
    expect(completion.choices[0]?.message.tool_calls).toEqual(example.response.choices[0]?.message.tool_calls);
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("chat stream: asks for usage with documented fields and yields the documented chunks, usage last", async () => {
    const example = await json<Example<ChatCompletionRequest, ChatCompletion>>("openai/chat-completion.json");
    const sse = await text("openai/chat-stream.sse");
    reply = sseReply(sse);
    const chunks = await collect(
      await openai.chatStream(
        { ...example.request, model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true } },
        context(),
      ),
    );
    expect(sent[0]?.body).toEqual({ ...example.request, model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true } });
    expect(undocumented(sent[0]?.body ?? {}, (await fields()).chatCompletion)).toEqual([]);
    expect(chunks).toEqual(dataOf(sse));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 29 } });
  });

  it("embeddings: sends the documented request and returns the documented answer as it is", async () => {
    const example = await json<Example<Record<string, unknown>, EmbeddingsResponse>>("openai/embeddings.json");
    reply = jsonReply(example.response);
    const response = await openai.embeddings(
      { model: "text-embedding-ada-002", input: "The food was delicious and the waiter...", encoding_format: "float" },
      context(),
    );
    expect(sent[0]?.url).toBe("https://api.openai.com/v1/embeddings");
    expect(sent[0]?.body).toEqual(example.request);
    expect(undocumented(sent[0]?.body ?? {}, (await fields()).embedding)).toEqual([]);
    expect(response).toEqual(example.response);
  });
});

describe("Anthropic adapter against Anthropic's published Messages API (2023-06-01)", () => {
  const created = 1_760_000_000;
  const anthropic = createAnthropicProvider({
    name: "anthropic",
    apiKey: "sk-ant-contract",
    models: [
      { id: "claude-opus-5-5", kind: "chat" },
      { id: "claude-opus-4-8", kind: "chat" },
    ],
    transport,
    now: () => created * 1000,
  });
  const documentedFields = async () => (await json<{ fields: string[] }>("anthropic/message-create-params.json")).fields;
  /** A message's string content as the one text block it stands for (`content: string | ContentBlockParam[]` in the SDK). */
  const asBlocks = <T extends { messages: Array<{ role: string; content: unknown }> }>(body: T) => ({
    ...body,
    messages: body.messages.map((message) => ({
      ...message,
      content: typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content,
    })),
  });

  it("messages: sends the documented request and turns the documented answer into a chat completion", async () => {
    const example =
      await json<
        Example<{ model: string; max_tokens: number; messages: Array<{ role: "user"; content: string }> }, Record<string, unknown>>
      >("anthropic/message-basic.json");
    reply = jsonReply(example.response);
    const completion = await anthropic.chat(
      { model: example.request.model, max_tokens: example.request.max_tokens, messages: example.request.messages },
      context(),
    );
    expect(sent[0]?.url).toBe("https://api.anthropic.com/v1/messages");
    expect(sent[0]?.headers.get("x-api-key")).toBe("sk-ant-contract");
    expect(sent[0]?.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(sent[0]?.body).toEqual(asBlocks(example.request));
    expect(undocumented(sent[0]?.body ?? {}, await documentedFields())).toEqual([]);
    expect(completion).toEqual({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      object: "chat.completion",
      created,
      model: "claude-opus-5-5",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!", refusal: null }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
      system_fingerprint: null,
    });
  });

  it("messages with a JSON schema: sends output_config.format in the SDK's JSONOutputFormat shape, only documented fields", async () => {
    const example =
      await json<
        Example<{ model: string; max_tokens: number; messages: Array<{ role: "user"; content: string }> }, Record<string, unknown>>
      >("anthropic/message-basic.json");
    reply = jsonReply(example.response);
    const schema = { type: "object", properties: { greeting: { type: "string" } }, required: ["greeting"], additionalProperties: false };
    await anthropic.chat(
      {
        model: "claude-opus-5-5",
        messages: example.request.messages,
        response_format: { type: "json_schema", json_schema: { name: "greeting", schema } },
      },
      context(),
    );
    expect(sent[0]?.body.output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(undocumented(sent[0]?.body ?? {}, await documentedFields())).toEqual([]);
  });

  it("messages stream: sends the SDK test's request and turns the SDK's recorded stream into chunks, usage last", async () => {
    reply = sseReply(await text("anthropic/sdk-stream-basic.sse"));
    const chunks = await collect(
      await anthropic.chatStream(
        { model: "claude-opus-4-8", max_tokens: 1024, messages: [{ role: "user", content: "Say hello there!" }], stream: true },
        context(),
      ),
    );
    expect(sent[0]?.body).toEqual(
      asBlocks({ model: "claude-opus-4-8", max_tokens: 1024, messages: [{ role: "user", content: "Say hello there!" }], stream: true }),
    );
    expect(undocumented(sent[0]?.body ?? {}, await documentedFields())).toEqual([]);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello there!");
    expect(chunks.every((chunk) => chunk.id === "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK" && chunk.model === "claude-opus-4-8")).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 } });
  });

  it("messages stream with a tool call: the streamed arguments are the SDK's accumulated input", async () => {
    reply = sseReply(await text("anthropic/sdk-stream-tool-use.sse"));
    const chunks = await collect(
      await anthropic.chatStream(
        { model: "claude-opus-4-8", messages: [{ role: "user", content: "Weather in Paris?" }], stream: true },
        context(),
      ),
    );
    const calls = chunks.flatMap(
      (chunk) =>
        (chunk.choices[0]?.delta.tool_calls as Array<{ id?: string; function: { name?: string; arguments: string } }> | undefined) ?? [],
    );
    expect(calls[0]).toMatchObject({ id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", function: { name: "get_weather" } });
    // The SDK's test expects the accumulated message's input { location: "Paris" } (tests/api-resources/MessageStream.test.ts).
    expect(JSON.parse(calls.map((call) => call.function.arguments).join(""))).toEqual({ location: "Paris" });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 377,
      completion_tokens: 65,
      total_tokens: 442,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });
});
