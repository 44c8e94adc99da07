/**
 * What regional's stream path costs per chunk (issue 19: "per-chunk overhead measured and
 * reported"): the regional app in process over a real Postgres, streamed chats from a stub
 * provider that yields its chunks at once, each read whole by the client. The figure is this
 * process's CPU time (not wall time): short streams (1 content chunk) against long ones
 * (`chunks` content chunks), the difference divided by the chunks added — what every chunk
 * costs on its way through parsing, the stream guard, continuation bookkeeping, usage
 * metering and SSE writing. The short stream's own cost is the stream path's fixed part.
 *
 * `npm run bench` calls `streamChunkFigures`; `tsx bench/stream-chunks.ts` runs it alone.
 */
import { pathToFileURL } from "node:url";
import type { ChatCompletionChunk } from "../shared/contract/chat.ts";
import type { Provider } from "../regional/providers/types.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { createTestApp, postJson, type TestApp } from "../test/support/regional-app.ts";
import { formatMicro, type MicroResult } from "./micro.ts";
import { percentile } from "./stats.ts";

export interface StreamChunkOptions {
  /** Content chunks of a long stream. */
  chunks?: number;
  /** Streams per measured batch. */
  streams?: number;
  batches?: number;
}

export async function streamChunkFigures(options: StreamChunkOptions = {}): Promise<MicroResult[]> {
  const chunks = options.chunks ?? 100;
  const streams = options.streams ?? 300;
  const batches = options.batches ?? 5;
  const cluster = await startPostgres({ database: "stream_chunks_bench" });
  try {
    const t = await createTestApp(cluster.primaryUrl, { providers: [instantStreams()], keyCacheTtlMs: 60_000 });
    try {
      // Warm-up: both lengths, so neither pays for the JIT.
      await perStreamUs(t, 1, streams);
      await perStreamUs(t, chunks, streams / 5);
      const short: number[] = [];
      const long: number[] = [];
      for (let batch = 0; batch < batches; batch++) {
        short.push(await perStreamUs(t, 1, streams));
        long.push(await perStreamUs(t, chunks, streams / 5));
      }
      const median = (values: number[]) =>
        percentile(
          [...values].sort((a, b) => a - b),
          0.5,
        );
      const shortUs = median(short);
      const longUs = median(long);
      return [
        { id: "regional stream in process, one content chunk (CPU µs/stream)", value: shortUs, unit: "µs/op" },
        { id: "regional stream in process, per content chunk (CPU µs/chunk)", value: (longUs - shortUs) / (chunks - 1), unit: "µs/op" },
      ];
    } finally {
      await t.close();
    }
  } finally {
    await cluster.stop();
  }
}

/** This process's mean CPU time (user + system) per streamed chat of `contentChunks`, read to its end. */
async function perStreamUs(t: TestApp, contentChunks: number, streams: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < streams; i++) {
    const body = { model: "stub/m", stream: true, messages: [{ role: "user", content: `chunks ${contentChunks}` }] };
    const response = await t.app.request(postJson("/v1/chat/completions", body, t.apiKey));
    const text = await response.text();
    if (response.status !== 200 || !text.endsWith("data: [DONE]\n\n"))
      throw new Error(`stream answered ${response.status}: ${text.slice(-200)}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / streams;
}

/** A provider whose streams yield a role chunk, `n` content chunks (n from the prompt) and a finish chunk, all at once. */
function instantStreams(): Provider {
  const unused = () => Promise.reject(new Error("not called by the bench"));
  return {
    name: "stub",
    models: () => [{ id: "m", kind: "chat" }],
    chat: unused,
    chatStream: async (request) => {
      const last = request.messages.at(-1)?.content;
      const n = Number(/chunks (\d+)/.exec(typeof last === "string" ? last : "")?.[1] ?? 1);
      const chunk = (delta: ChatCompletionChunk["choices"][number]["delta"], finish: string | null): ChatCompletionChunk => ({
        id: "chatcmpl-bench",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model: request.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      return (async function* () {
        yield chunk({ role: "assistant", content: "" }, null);
        for (let i = 0; i < n; i++) yield chunk({ content: ` word${i}` }, null);
        yield chunk({}, "stop");
      })();
    },
    embeddings: unused,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(formatMicro(await streamChunkFigures()));
  process.exit(0);
}
