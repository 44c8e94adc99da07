import { request as httpRequest } from "node:http";
import OpenAI, { APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { speechBytes, speechPieceBytes } from "../../regional/providers/mock/forwarded.ts";
import { listen, type RunningServer } from "../../regional/server.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const maxBodyBytes = 64 * 1024;
const maxUploadBytes = 256 * 1024;
let t: TestApp;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), {
    maxBodyBytes,
    maxUploadBytes,
    providers: [
      createMockProvider(),
      createMockProvider({ name: "failing", faults: { instruct: "status=503" } }),
      createMockProvider({ name: "claude", wire: "anthropic" }),
    ],
    routes: {
      routes: {
        text: {
          targets: [
            { provider: "failing", model: "instruct" },
            { provider: "mock", model: "instruct" },
          ],
          retry: { maxAttempts: 1 },
        },
      },
    },
  });
  server = await listen(t.app, "127.0.0.1", 0);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: t.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close(0);
  await t?.close();
});

const fault = (spec: string) => ({ headers: { "x-mock-fault": spec } });

describe("POST /v1/responses", () => {
  it("answers with a response object, its text and usage", async () => {
    const response = await client.responses.create({ model: "mock/echo", input: "hello there world" });
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.model).toBe("mock/echo");
    expect(response.output_text).toBe("hello there world");
    expect(response.usage).toMatchObject({ input_tokens: 3, output_tokens: 3, total_tokens: 6 });
  });

  it("streams typed events from response.created to response.completed", async () => {
    const stream = await client.responses.create({ model: "mock/echo", input: "stream these words", stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events[0]?.type).toBe("response.created");
    expect(events.at(-1)?.type).toBe("response.completed");
    const deltas = events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : []));
    expect(deltas.join("")).toBe("stream these words");
    const done = events.at(-1);
    expect(done?.type === "response.completed" && done.response.model).toBe("mock/echo");
  });

  it("ends a stream that broke after it started with an error event, never response.completed", async () => {
    const stream = await client.responses.create({ model: "mock/echo", input: "one two three four", stream: true }, fault("break-after=2"));
    const events = [];
    for await (const event of stream) events.push(event);
    const deltas = events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : []));
    expect(deltas.join("")).toBe("one two ");
    const last = events.at(-1);
    expect(last?.type).toBe("error");
    expect(last?.type === "error" && last.sequence_number).toBe((events.at(-2)?.sequence_number ?? -1) + 1);
    expect(events.some((event) => event.type === "response.completed")).toBe(false);
  });

  it("refuses a provider that does not offer the Responses API with 400, not an upstream error", async () => {
    const error = await client.responses.create({ model: "claude/echo", input: "hi" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).param).toBe("model");
    expect(t.deps.router.planner.providers().some((provider) => provider.name === "claude")).toBe(true);
  });
});

describe("POST /v1/completions", () => {
  it("completes a prompt with usage", async () => {
    const completion = await client.completions.create({ model: "mock/instruct", prompt: "say this back" });
    expect(completion.object).toBe("text_completion");
    expect(completion.model).toBe("mock/instruct");
    expect(completion.choices[0]?.text).toBe("say this back");
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it("streams chunks and leaves out the usage chunk the client did not ask for", async () => {
    const stream = await client.completions.create({ model: "mock/instruct", prompt: "word by word", stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.text ?? "").join("")).toBe("word by word");
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("fails a stream that broke after it started, without [DONE]", async () => {
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json", "x-mock-fault": "break-after=1" },
      body: JSON.stringify({ model: "mock/instruct", prompt: "one two three", stream: true }),
    });
    const frames = (await response.text()).split("\n\n").filter(Boolean);
    expect(JSON.parse(frames[0]?.slice("data: ".length) ?? "{}").choices[0].text).toBe("one ");
    expect(JSON.parse(frames.at(-1)?.slice("data: ".length) ?? "{}").error.code).toBe("upstream_error");
    expect(frames.some((frame) => frame === "data: [DONE]")).toBe(false);
  });

  it("falls back from a failing target to a working one", async () => {
    const { data, response } = await client.completions.create({ model: "text", prompt: "still answered" }).withResponse();
    expect(data.choices[0]?.text).toBe("still answered");
    expect(response.headers.get("x-breakwater-provider")).toBe("mock");
    expect(response.headers.get("x-breakwater-attempts")).toBe("2");
  });

  it("answers 400 for a model that does not serve completions and 404 for an unknown one", async () => {
    const wrongKind = await client.completions.create({ model: "mock/echo", prompt: "hi" }).catch((caught: unknown) => caught);
    expect((wrongKind as APIError).status).toBe(400);
    expect((wrongKind as APIError).type).toBe("invalid_request_error");
    expect((wrongKind as APIError).param).toBe("model");
    const unknown = await client.completions.create({ model: "mock/nothing", prompt: "hi" }).catch((caught: unknown) => caught);
    expect((unknown as APIError).status).toBe(404);
    expect((unknown as APIError).code).toBe("model_not_found");
  });
});

describe("images, audio and moderations", () => {
  it("generates images", async () => {
    const images = await client.images.generate({ model: "mock/image", prompt: "a lighthouse", n: 2 });
    expect(images.data).toHaveLength(2);
    expect(images.data?.[0]?.b64_json).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("transcribes an uploaded file, as JSON or as text", async () => {
    const clip = await toFile(Buffer.alloc(3000, 7), "clip.wav", { type: "audio/wav" });
    const json = await client.audio.transcriptions.create({ model: "mock/whisper", file: clip });
    expect(json.text).toMatch(/^mock transcript of 3000 bytes \(sha256 [0-9a-f]{64}\) by whisper$/);
    const again = await toFile(Buffer.alloc(1000, 7), "clip.wav", { type: "audio/wav" });
    const text = await client.audio.transcriptions.create({ model: "mock/whisper", file: again, response_format: "text" });
    expect(text).toMatch(/^mock transcript of 1000 bytes /);
  });

  it("refuses an upload past MAX_UPLOAD_BYTES with 413 before it has all arrived", async () => {
    const { status, sentBytes } = await endlessUpload(`${server.url}/v1/audio/transcriptions`, t.apiKey);
    expect(status).toBe(413);
    expect(sentBytes).toBeLessThan(4 * maxUploadBytes);
  });

  it("streams generated speech back as audio bytes", async () => {
    const response = await client.audio.speech.create({ model: "mock/speak", input: "read this aloud", voice: "alloy" });
    expect(response.headers.get("content-type")).toBe("audio/mpeg");
    expect((await response.arrayBuffer()).byteLength).toBe(speechBytes);
  });

  it("ends a speech stream cut after it started with a broken body, never a clean short file", async () => {
    const response = await client.audio.speech.create({ model: "mock/speak", input: "cut me off", voice: "alloy" }, fault(`break-after=3`));
    expect(response.status).toBe(200);
    let received = 0;
    const ended = await (async () => {
      for await (const part of response.body!) received += (part as Uint8Array).byteLength;
      return "clean end";
    })().catch(() => "broken");
    expect(ended).toBe("broken");
    expect(received).toBe(3 * speechPieceBytes);
  });

  it("moderates input", async () => {
    const result = await client.moderations.create({ model: "mock/moderate", input: ["a calm day", "violence"] });
    expect(result.results.map((entry) => entry.flagged)).toEqual([false, true]);
  });
});

describe("usage", () => {
  it("records a row per endpoint, with tokens where the API reports them", async () => {
    await t.deps.usage.flush();
    const rows = await t.db.write<{ kind: string; model: string; status: number; total_tokens: number | null }[]>`
      select kind, model, status, total_tokens from usage where tenant_id = ${t.tenantId} and status = 200`;
    const kinds = new Set(rows.map((row) => row.kind));
    for (const kind of ["responses", "completions", "images", "transcription", "speech", "moderation"]) expect(kinds).toContain(kind);
    expect(rows.find((row) => row.kind === "responses" && row.model === "mock/echo")?.total_tokens).toBe(6);
    expect(rows.find((row) => row.kind === "completions" && row.model === "mock/instruct")?.total_tokens).toBe(6);
    expect(rows.find((row) => row.kind === "images")?.total_tokens).toBe(0);
    expect(rows.find((row) => row.kind === "speech")?.model).toBe("mock/speak");
  });
});

/** Uploads 16 KiB pieces without end until the server answers; how much was written by then. */
function endlessUpload(url: string, apiKey: string): Promise<{ status: number; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const piece = Buffer.alloc(16 * 1024, 1);
    let sentBytes = 0;
    let answered = false;
    const outgoing = httpRequest(url, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "multipart/form-data; boundary=xyz", "transfer-encoding": "chunked" },
    });
    outgoing.on("response", (incoming) => {
      answered = true;
      incoming.resume();
      resolve({ status: incoming.statusCode ?? 0, sentBytes });
      outgoing.destroy();
    });
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    // One piece at a time, each once the last was flushed: a server reading it all first would never answer.
    const write = () => {
      if (answered) return;
      sentBytes += piece.length;
      outgoing.write(piece, () => setImmediate(write));
    };
    write();
  });
}
