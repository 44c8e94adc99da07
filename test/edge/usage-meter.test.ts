import { describe, expect, it } from "vitest";
import { checkCompletionTokens, estimateTokens } from "../../shared/token-estimate.ts";
import { maxEventChars, meterUsage } from "../../edge/limits/usage-meter.ts";

const encoder = new TextEncoder();

/** A response whose body arrives in exactly these pieces. */
function responseOf(pieces: string[], type: string): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": type } });
}

const chunk = (content: string) =>
  `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 10, completion_tokens: 32, total_tokens: 42 } })}\n\n`;

describe("usage metering", () => {
  it("reads usage from a JSON body and passes the body on unchanged", async () => {
    const body = JSON.stringify({ object: "chat.completion", usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    const metered = meterUsage(responseOf([body.slice(0, 10), body.slice(10)], "application/json"), {
      promptTokens: 0,
      dropUsageChunk: false,
    });

    expect(await metered.response.text()).toBe(body);
    expect(await metered.usage).toEqual({ prompt: 3, completion: 4, total: 7 });
  });

  it("finds the usage chunk of a stream, even split across reads", async () => {
    const stream = `${chunk("Hel")}${chunk("lo")}${usageChunk}data: [DONE]\n\n`;
    const pieces = [stream.slice(0, 7), stream.slice(7, 90), stream.slice(90)];
    const metered = meterUsage(responseOf(pieces, "text/event-stream"), { promptTokens: 0, dropUsageChunk: false });

    expect(await metered.response.text()).toBe(stream);
    expect(await metered.usage).toEqual({ prompt: 10, completion: 32, total: 42 });
  });

  it("leaves out the usage chunk it asked for on the client's behalf, and nothing else", async () => {
    const stream = `${chunk("Hello")}${usageChunk}: keep-alive\n\ndata: [DONE]\n\n`;
    const metered = meterUsage(responseOf([stream], "text/event-stream; charset=utf-8"), { promptTokens: 0, dropUsageChunk: true });

    expect(await metered.response.text()).toBe(`${chunk("Hello")}: keep-alive\n\ndata: [DONE]\n\n`);
    expect(await metered.usage).toEqual({ prompt: 10, completion: 32, total: 42 });
  });

  it("understands CRLF-framed events", async () => {
    const stream = `${usageChunk.replace("\n\n", "\r\n\r\n")}data: [DONE]\r\n\r\n`;
    const metered = meterUsage(responseOf([stream], "text/event-stream"), { promptTokens: 0, dropUsageChunk: true });

    expect(await metered.response.text()).toBe("data: [DONE]\r\n\r\n");
    expect(await metered.usage).toEqual({ prompt: 10, completion: 32, total: 42 });
  });

  it("counts streamed content at 4 characters a token when no usage comes, plus the prompt", async () => {
    const metered = meterUsage(
      responseOf([chunk("twelve chars"), "data: not json\n\n", chunk("1234"), "data: [DONE]"], "text/event-stream"),
      { promptTokens: 9, dropUsageChunk: true },
    );

    expect(await metered.response.text()).toContain("data: not json\n\n");
    expect(await metered.usage).toEqual({ prompt: 9, completion: 3 + 1, total: 9 + 3 + 1 });
  });

  it("holds back no more than one bounded event: an event that never ends is passed on as it comes", async () => {
    let source!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (source = controller) });
    const metered = meterUsage(new Response(body, { headers: { "content-type": "text/event-stream" } }), {
      promptTokens: 0,
      dropUsageChunk: true,
    });
    const reader = metered.response.body!.pipeThrough(new TextDecoderStream()).getReader();

    source.enqueue(encoder.encode(chunk("Hi")));
    expect((await reader.read()).value).toBe(chunk("Hi"));
    // An event with no end in sight, larger than the bound, and the origin goes quiet.
    const huge = `data: ${"x".repeat(maxEventChars + 10)}`;
    source.enqueue(encoder.encode(huge.slice(0, 1_000)));
    source.enqueue(encoder.encode(huge.slice(1_000)));
    const passed = await Promise.race([reader.read(), new Promise<"held">((resolve) => setTimeout(() => resolve("held"), 1_000))]);
    expect(passed).not.toBe("held");
    let through = (passed as ReadableStreamReadResult<string>).value ?? "";
    expect(through.startsWith("data: xxx")).toBe(true);

    // Once that event ends, events are read again: the usage chunk after it is found, and left out.
    source.enqueue(encoder.encode(`xxxx\n\n${usageChunk}data: [DONE]\n\n`));
    source.close();
    for (let part = await reader.read(); !part.done; part = await reader.read()) through += part.value;
    expect(through).toBe(`${huge}xxxx\n\ndata: [DONE]\n\n`);
    expect(await metered.usage).toEqual({ prompt: 10, completion: 32, total: 42 });
  });

  it("finds the end of an oversized event even when it straddles two reads", async () => {
    const huge = `data: ${"y".repeat(maxEventChars + 10)}`;
    const stream = `${huge}\n\n${chunk("after")}data: [DONE]\n\n`;
    const cut = huge.length + 1;
    const metered = meterUsage(responseOf([stream.slice(0, cut), stream.slice(cut)], "text/event-stream"), {
      promptTokens: 2,
      dropUsageChunk: false,
    });

    expect(await metered.response.text()).toBe(stream);
    // "after": 5 characters, 2 tokens, plus the prompt; the unread event is not counted.
    expect(await metered.usage).toEqual({ prompt: 2, completion: 2, total: 2 + 2 });
  });

  it("reads input and output tokens (Responses API, audio), and takes an embeddings answer's tokens as all prompt", async () => {
    const responses = meterUsage(responseOf([JSON.stringify({ usage: { input_tokens: 5, output_tokens: 6 } })], "application/json"), {
      promptTokens: 0,
      dropUsageChunk: false,
    });
    await responses.response.text();
    expect(await responses.usage).toEqual({ prompt: 5, completion: 6, total: 11 });

    const embeddings = meterUsage(responseOf([JSON.stringify({ usage: { prompt_tokens: 4, total_tokens: 4 } })], "application/json"), {
      promptTokens: 0,
      dropUsageChunk: false,
    });
    await embeddings.response.text();
    expect(await embeddings.usage).toEqual({ prompt: 4, completion: 0, total: 4 });
  });

  it("takes the cost from regional's header on a JSON answer", async () => {
    const response = new Response(JSON.stringify({ usage: { total_tokens: 1 } }), {
      headers: { "content-type": "application/json", "x-breakwater-cost-usd": "0.000123" },
    });
    const metered = meterUsage(response, { promptTokens: 0, dropUsageChunk: false });

    await metered.response.text();
    expect(await metered.costUsd).toBe("0.000123");
  });

  it("takes the cost from the comment a stream closes with, and leaves the comment out", async () => {
    const stream = `${chunk("Hi")}: keep-alive\n\n: x-breakwater-cost-usd=0.0042\n\ndata: [DONE]\n\n`;
    // Split inside the comment: it is read whole all the same.
    const cut = stream.indexOf("cost-usd") + 3;
    const metered = meterUsage(responseOf([stream.slice(0, cut), stream.slice(cut)], "text/event-stream"), {
      promptTokens: 0,
      dropUsageChunk: false,
    });

    expect(await metered.response.text()).toBe(`${chunk("Hi")}: keep-alive\n\ndata: [DONE]\n\n`);
    expect(await metered.costUsd).toBe("0.0042");
  });

  it("says no cost when neither the header nor the stream gives one", async () => {
    const metered = meterUsage(responseOf([`${chunk("Hi")}data: [DONE]\n\n`], "text/event-stream"), {
      promptTokens: 0,
      dropUsageChunk: false,
    });

    await metered.response.text();
    expect(await metered.costUsd).toBeNull();
  });

  it("says nothing for bodies it cannot read usage from", async () => {
    expect(await meterUsage(responseOf(["plain"], "text/plain"), { promptTokens: 5, dropUsageChunk: false }).usage).toBeNull();
    expect(await meterUsage(new Response(null, { status: 204 }), { promptTokens: 5, dropUsageChunk: false }).usage).toBeNull();
    const broken = meterUsage(responseOf(['{"usage":'], "application/json"), { promptTokens: 5, dropUsageChunk: false });
    await broken.response.text();
    expect(await broken.usage).toBeNull();
  });
});

describe("token estimates", () => {
  it("count a chat request's text at 4 characters a token, 4 per message, and its max_tokens per choice", () => {
    const body = {
      messages: [
        { role: "system", content: "12345678" },
        { role: "user", content: [{ type: "text", text: "1234" }] },
      ],
      max_tokens: 100,
      n: 2,
    };
    expect(estimateTokens("/v1/chat/completions", body)).toEqual({ prompt: 3 + 8, total: 11 + 200 });
  });

  it("assume 256 completion tokens without max_tokens, and prefer max_completion_tokens", () => {
    expect(estimateTokens("/v1/chat/completions", { messages: [] }).total).toBe(256);
    expect(estimateTokens("/v1/chat/completions", { messages: [], max_tokens: 5, max_completion_tokens: 7 }).total).toBe(7);
  });

  it("hold a chat request to the ceiling over all its choices, naming the field that asks for more", () => {
    expect(checkCompletionTokens("/v1/chat/completions", { max_tokens: 1_000 }, 1_000)).toEqual({ ok: true });
    expect(checkCompletionTokens("/v1/chat/completions", {}, 1_000)).toEqual({ ok: true });
    expect(checkCompletionTokens("/v1/chat/completions", { max_tokens: 1_001 }, 1_000)).toMatchObject({ ok: false, param: "max_tokens" });
    expect(checkCompletionTokens("/v1/chat/completions", { max_tokens: 10, max_completion_tokens: 2_000 }, 1_000)).toMatchObject({
      ok: false,
      param: "max_completion_tokens",
    });
    expect(checkCompletionTokens("/v1/chat/completions", { max_tokens: 501, n: 2 }, 1_000)).toMatchObject({
      ok: false,
      param: "max_tokens",
      message: expect.stringContaining("at most 500 with n = 2"),
    });
    // Not chat: nothing to hold.
    expect(checkCompletionTokens("/v1/embeddings", { max_tokens: 5_000 }, 1_000)).toEqual({ ok: true });
  });

  it("assume what they are told for a chat request that sets no limit", () => {
    expect(estimateTokens("/v1/chat/completions", { messages: [], n: 2, max_tokens: null }, 400).total).toBe(800);
    expect(estimateTokens("/v1/chat/completions", { messages: [], max_tokens: 9 }, 400).total).toBe(9);
  });

  it("count embeddings inputs, token arrays exactly", () => {
    expect(estimateTokens("/v1/embeddings", { input: ["12345678", "1234"] }).total).toBe(3);
    expect(estimateTokens("/v1/embeddings", { input: [1, 2, 3, 4, 5] }).total).toBe(5);
  });

  it("are zero for other paths and for bodies that are not objects", () => {
    expect(estimateTokens("/v1/models", undefined).total).toBe(0);
    expect(estimateTokens("/v1/chat/completions", "text").total).toBe(0);
  });
});
