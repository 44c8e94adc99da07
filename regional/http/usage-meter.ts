import type { MiddlewareHandler } from "hono";
import type { UsageEvent, UsageRecorder } from "../usage/recorder.ts";
import type { AppEnv } from "./context.ts";

interface Tokens {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

type Measured = Pick<UsageEvent, "promptTokens" | "completionTokens" | "totalTokens" | "model">;

const kinds: Record<string, UsageEvent["kind"]> = { "/v1/chat/completions": "chat", "/v1/embeddings": "embeddings" };

function measured(body: unknown): Measured | null {
  if (typeof body !== "object" || body === null) return null;
  const { usage, model } = body as { usage?: Tokens | null; model?: unknown };
  if (!usage) return typeof model === "string" ? { model, promptTokens: null, completionTokens: null, totalTokens: null } : null;
  return {
    model: typeof model === "string" ? model : null,
    promptTokens: usage.prompt_tokens ?? null,
    completionTokens: usage.completion_tokens ?? null,
    totalTokens: usage.total_tokens ?? null,
  };
}

/**
 * Records usage of each authenticated inference request: status, provider, latency until
 * the last byte, and tokens as the response reports them (the `usage` of a JSON answer, or
 * of the stream chunk that carries it). It reads copies of the bytes going out and changes
 * none; a stream keeps its back-pressure (one chunk pulled per read).
 */
export const usageMeter = (usage: UsageRecorder): MiddlewareHandler<AppEnv> =>
  async function usageMeter(c, next) {
    const kind = c.req.method === "POST" ? kinds[c.req.path] : undefined;
    if (!kind) return await next();
    const started = performance.now();
    await next();
    const auth = c.get("auth");
    if (!auth) return;
    const response = c.res;
    const record = (found: Measured | null) =>
      usage.record({
        tenantId: auth.tenantId,
        keyId: auth.keyId,
        requestId: c.get("requestId"),
        kind,
        provider: response.headers.get("x-breakwater-provider"),
        model: found?.model ?? null,
        status: response.status,
        promptTokens: found?.promptTokens ?? null,
        completionTokens: found?.completionTokens ?? null,
        totalTokens: found?.totalTokens ?? null,
        latencyMs: performance.now() - started,
        at: new Date(),
      });

    const type = response.headers.get("content-type") ?? "";
    if (!response.body || !type.startsWith("text/event-stream")) {
      if (type.startsWith("application/json") && response.ok) {
        response.clone().text().then((text) => record(measuredJson(text)), () => record(null));
      } else {
        record(null);
      }
      return;
    }
    c.res = new Response(meteredStream(response.body, record), response);
  };

/** Largest answer parsed whole for its usage; beyond it (big embeddings) only its end is read. */
const parseWholeBytes = 64 * 1024;

function measuredJson(text: string): Measured | null {
  try {
    if (text.length <= parseWholeBytes) return measured(JSON.parse(text));
  } catch {
    return null;
  }
  // `usage` and `model` follow the (large) data in the answers this service builds.
  const tail = text.slice(-4_096);
  const model = /"model":"((?:[^"\\]|\\.)*)"/.exec(tail)?.[1];
  const at = tail.lastIndexOf('"usage":');
  const start = at < 0 ? -1 : tail.indexOf("{", at);
  let usage: unknown = null;
  if (start >= 0) {
    let depth = 0;
    for (let index = start; index < tail.length; index++) {
      if (tail[index] === "{") depth++;
      else if (tail[index] === "}" && --depth === 0) {
        try {
          usage = JSON.parse(tail.slice(start, index + 1));
        } catch {
          usage = null;
        }
        break;
      }
    }
  }
  return measured({ model, usage });
}

/** Passes an SSE body through unchanged, noting the last `usage` a `data:` line carried. */
function meteredStream(body: ReadableStream<Uint8Array>, done: (found: Measured | null) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let found: Measured | null = null;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done(found);
  };
  const scan = (text: string) => {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("data: {") || !line.includes('"usage"')) continue;
      try {
        found = measured(JSON.parse(line.slice(6))) ?? found;
      } catch {
        // Not ours to judge; the client gets the bytes as they are.
      }
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: ended, value } = await reader.read();
          if (ended) {
            controller.close();
            finish();
            return;
          }
          scan(decoder.decode(value, { stream: true }));
          controller.enqueue(value);
        } catch (error) {
          controller.error(error);
          finish();
        }
      },
      async cancel(reason) {
        finish();
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
