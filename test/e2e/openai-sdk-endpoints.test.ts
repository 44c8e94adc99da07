import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { speechBytes } from "../../regional/providers/mock/forwarded.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";

/**
 * The official `openai` SDK against every endpoint, through `wrangler dev` in front of the
 * regional service with its mock providers: what a user of the SDK sees, typed.
 *
 * A speech stream cut after it started is pinned per tier instead (regional: the
 * connection is cut, test/regional/openai-endpoints.test.ts; edge: the cut is passed on,
 * test/edge/uploads.test.ts): `wrangler dev`'s local proxy ends a response whose body
 * failed as if it were complete, which workerd itself does not.
 */

const devKey = "bw_e2eSdkEndpoints0123456789abcd";
/** Both tiers' MAX_UPLOAD_BYTES here: a few MiB pass, more does not. */
const maxUploadBytes = 8 * 1024 * 1024;
let database: TestDatabase;
let routesDir: string;
let regional: RunningProcess;
let edge: RunningProcess;
let client: OpenAI;

beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  routesDir = await mkdtemp(join(tmpdir(), "bw-sdk-routes-"));
  const routesFile = join(routesDir, "routes.json");
  // `transcribe`: a target that fails first, so the upload is sent twice from regional's one copy.
  await writeFile(
    routesFile,
    JSON.stringify({
      providers: { flaky: { type: "mock", faults: { whisper: "status=503" } } },
      routes: {
        transcribe: {
          targets: [
            { provider: "flaky", model: "whisper" },
            { provider: "mock", model: "whisper" },
          ],
          retry: { maxAttempts: 1 },
        },
      },
    }),
  );
  regional = await startRegional({
    DATABASE_URL: database.url,
    BREAKWATER_DEV_KEY: devKey,
    BREAKWATER_DEV_TPM: "100000000",
    ROUTES_FILE: routesFile,
    MAX_UPLOAD_BYTES: String(maxUploadBytes),
  });
  edge = await startEdge({ REGIONAL_ORIGIN: regional.url, MAX_UPLOAD_BYTES: String(maxUploadBytes) });
  client = new OpenAI({ baseURL: `${edge.url}/v1`, apiKey: devKey, maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await edge?.stop();
  await regional?.stop();
  await database?.drop();
  if (routesDir) await rm(routesDir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("the official SDK through the edge", () => {
  it("chat completions: an answer with its usage", async () => {
    const completion = await client.chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "hello sdk" }] });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("mock/echo");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: "hello sdk" });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it("chat completions streamed: chunks that add up to the answer, usage when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "one two three" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("one two three");
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(3);
  });

  it("embeddings and the model list", async () => {
    const embeddings = await client.embeddings.create({ model: "mock/embed", input: ["a", "b"] });
    expect(embeddings.data.map((item) => item.embedding.length)).toEqual([8, 8]);
    expect(embeddings.usage.total_tokens).toBeGreaterThan(0);
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(
      expect.arrayContaining(["mock/echo", "mock/instruct", "mock/image", "mock/whisper", "mock/speak", "mock/moderate"]),
    );
  });

  it("responses: the output text and usage", async () => {
    const response = await client.responses.create({ model: "mock/echo", input: "respond to me" });
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.model).toBe("mock/echo");
    expect(response.output_text).toBe("respond to me");
    expect(response.usage).toMatchObject({ input_tokens: 3, output_tokens: 3, total_tokens: 6 });
  });

  it("responses streamed: typed events from response.created to response.completed", async () => {
    const stream = await client.responses.create({ model: "mock/echo", input: "typed events here", stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events[0]?.type).toBe("response.created");
    const deltas = events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : []));
    expect(deltas.join("")).toBe("typed events here");
    const done = events.at(-1);
    expect(done?.type).toBe("response.completed");
    if (done?.type !== "response.completed") return;
    expect(done.response.output).toMatchObject([{ type: "message", content: [{ type: "output_text", text: "typed events here" }] }]);
    expect(done.response.usage?.output_tokens).toBe(3);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
  });

  it("legacy completions", async () => {
    const completion = await client.completions.create({ model: "mock/instruct", prompt: "complete this" });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]?.text).toBe("complete this");
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  });

  it("images.generate", async () => {
    const images = await client.images.generate({ model: "mock/image", prompt: "a breakwater at dawn", n: 2 });
    expect(images.data).toHaveLength(2);
    expect(images.data?.[0]?.b64_json).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(images.data?.[0]?.b64_json).not.toBe(images.data?.[1]?.b64_json);
  });

  it("moderations", async () => {
    const moderation = await client.moderations.create({ model: "mock/moderate", input: ["a calm sea", "violence"] });
    expect(moderation.results.map((result) => result.flagged)).toEqual([false, true]);
    expect(moderation.results[1]?.categories.violence).toBe(true);
  });

  it("audio.speech: audio bytes, whole", async () => {
    const speech = await client.audio.speech.create({ model: "mock/speak", input: "read this aloud", voice: "alloy" });
    expect(speech.headers.get("content-type")).toBe("audio/mpeg");
    const audio = new Uint8Array(await speech.arrayBuffer());
    expect(audio.byteLength).toBe(speechBytes);
    // The mock's audio repeats the input's SHA-256.
    expect(audio.subarray(0, 32)).toEqual(new Uint8Array(createHash("sha256").update("read this aloud").digest()));
  });
});

describe("uploads through the edge", () => {
  it("audio.transcriptions: a file of a few MiB reaches the provider intact, as the route's model, again after a failed target", async () => {
    const clip = randomBytes(4 * 1024 * 1024 + 123);
    const { data, response } = await client.audio.transcriptions
      .create({ model: "transcribe", file: await toFile(clip, "clip.wav", { type: "audio/wav" }) })
      .withResponse();
    expect(data.text).toBe(`mock transcript of ${clip.byteLength} bytes (sha256 ${sha256(clip)}) by whisper`);
    expect(response.headers.get("x-breakwater-provider")).toBe("mock");
    expect(response.headers.get("x-breakwater-attempts")).toBe("2");
  });

  it("refuses a file past MAX_UPLOAD_BYTES with 413 in the error shape", async () => {
    const clip = Buffer.alloc(maxUploadBytes + 1, 1);
    const error = await client.audio.transcriptions
      .create({ model: "mock/whisper", file: await toFile(clip, "clip.wav", { type: "audio/wav" }) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(413);
    expect((error as APIError).code).toBe("payload_too_large");
  });

  it("refuses an undeclared upload with 413 once it passes the limit, before the client has sent it all", async () => {
    const { status, body, sentBytes } = await chunkedUpload(`${edge.url}/v1/audio/transcriptions`, 4 * maxUploadBytes);
    expect(status).toBe(413);
    // The server closes the connection after answering while the client is still sending; the
    // client's unread bytes make that close a TCP reset, which now and then discards the body
    // (seen once in CI through wrangler dev's proxy). The status always arrives; a body, whole.
    if (body !== "") expect((JSON.parse(body) as { error: { code: string } }).error.code).toBe("payload_too_large");
    expect(sentBytes).toBeLessThan(4 * maxUploadBytes);
  });
});

/**
 * Uploads up to `totalBytes` with chunked framing (no Content-Length), a piece at a time,
 * until the server answers; what it answered and how much was written by then.
 */
function chunkedUpload(url: string, totalBytes: number): Promise<{ status: number; body: string; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const piece = Buffer.alloc(64 * 1024, 1);
    let sentBytes = 0;
    let answered = false;
    const outgoing = httpRequest(url, {
      method: "POST",
      headers: { authorization: `Bearer ${devKey}`, "content-type": "multipart/form-data; boundary=xyz", "transfer-encoding": "chunked" },
    });
    outgoing.on("response", (incoming) => {
      answered = true;
      let body = "";
      incoming.setEncoding("utf8");
      incoming.on("data", (part: string) => (body += part));
      incoming.on("end", () => {
        resolve({ status: incoming.statusCode ?? 0, body, sentBytes });
        outgoing.destroy();
      });
    });
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    // One piece at a time, each once the last was flushed: a server reading it all first would never answer.
    const write = () => {
      if (answered) return;
      if (sentBytes >= totalBytes) return void outgoing.end();
      sentBytes += piece.length;
      outgoing.write(piece, () => setImmediate(write));
    };
    write();
  });
}
