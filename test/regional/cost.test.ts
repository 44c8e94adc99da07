import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ChatCompletion, Usage } from "../../shared/contract/chat.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import { startFakeUpstream, wordStream, type FakeUpstream } from "../support/fake-upstream.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

/** What a request cost, from the serving provider's prices: on its usage row, in a header or at the end of its stream. */

/** Exact decimal text of `units / 10^scale`, as the gateway writes money. */
function usd(units: bigint, scale: number): string {
  const digits = units.toString().padStart(scale + 1, "0");
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return `${digits.slice(0, digits.length - scale)}${fraction ? `.${fraction}` : ""}`;
}

/** A provider whose answers read part of the prompt from its cache, as OpenAI reports it. */
const cachingProvider: Provider = {
  name: "caching",
  models: () => [{ id: "model", kind: "chat" }],
  async chat(request): Promise<ChatCompletion> {
    return {
      id: "chatcmpl-cached",
      object: "chat.completion",
      created: 1,
      model: request.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1_000, completion_tokens: 10, total_tokens: 1_010, prompt_tokens_details: { cached_tokens: 400 } },
    };
  },
  chatStream: () => Promise.reject(new Error("not used")),
  embeddings: () => Promise.reject(new Error("not used")),
};

// USD per million tokens (per image, per second) as a routes file gives them; entries without a type price the test's providers.
const routes = {
  providers: {
    mock: {
      prices: {
        echo: { input: 1, output: 2 },
        embed: { input: 0.02, output: 0 },
        instruct: { input: 1.5, output: 2 },
        image: { input: 0, output: 0, image: 0.04 },
      },
    },
    caching: { prices: { model: { input: 0.15, cachedInput: 0.075, output: 0.6 } } },
  },
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { providers: [createMockProvider(), cachingProvider], routes });
});
afterAll(async () => t?.close());

const post = (path: string, body: Record<string, unknown>) => t.app.request(postJson(path, body, t.apiKey));

/** The cost stored on the request's usage row (null: unknown), once the recorder wrote it. */
async function storedCost(response: Response): Promise<string | null> {
  await t.deps.usage.flush();
  const requestId = response.headers.get("x-request-id");
  const [row] = await t.db.write<{ cost_usd: string | null }[]>`select cost_usd::text from usage where request_id = ${requestId}`;
  if (!row) throw new Error(`no usage row for ${requestId}`);
  return row.cost_usd === null ? null : usd(BigInt(row.cost_usd.replace(".", "")), row.cost_usd.split(".")[1]?.length ?? 0);
}

/** An SSE body's frames, comments included, in order. */
async function framesOf(response: Response): Promise<string[]> {
  return (await response.text()).split("\n\n").filter(Boolean);
}

describe("a whole answer", () => {
  it("carries its cost in x-breakwater-cost-usd and on its usage row (chat)", async () => {
    const response = await post("/v1/chat/completions", { model: "mock/echo", messages: [{ role: "user", content: "one two three" }] });
    const { usage } = (await response.json()) as ChatCompletion;
    if (!usage) throw new Error("no usage");
    // 1 USD per million prompt tokens, 2 per million completion tokens: micro-dollars.
    const expected = usd(BigInt(usage.prompt_tokens + 2 * usage.completion_tokens), 6);

    expect(response.headers.get("x-breakwater-cost-usd")).toBe(expected);
    expect(await storedCost(response)).toBe(expected);
  });

  it("prices cached prompt tokens at cachedInput, exactly", async () => {
    const response = await post("/v1/chat/completions", { model: "caching/model", messages: [{ role: "user", content: "hi" }] });

    // 600 × 0.15 + 400 × 0.075 + 10 × 0.6 = 126 micro-dollars; binary floats would not land on it.
    expect(response.headers.get("x-breakwater-cost-usd")).toBe("0.000126");
    expect(await storedCost(response)).toBe("0.000126");
  });

  it("prices embeddings by their prompt tokens", async () => {
    const response = await post("/v1/embeddings", { model: "mock/embed", input: ["alpha beta", "gamma"] });
    const { usage } = (await response.json()) as { usage: { prompt_tokens: number } };
    // 0.02 USD per million tokens: 2 × 10^-8 each.
    const expected = usd(BigInt(2 * usage.prompt_tokens), 8);

    expect(response.headers.get("x-breakwater-cost-usd")).toBe(expected);
    expect(await storedCost(response)).toBe(expected);
  });

  it("prices images per image when the answer counts no tokens", async () => {
    const response = await post("/v1/images/generations", { model: "mock/image", prompt: "a lighthouse", n: 3 });

    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-cost-usd")).toBe("0.12");
    expect(await storedCost(response)).toBe("0.12");
  });

  it("has no cost header and a null cost where no price is known (not 0)", async () => {
    const response = await post("/v1/moderations", { model: "mock/moderate", input: "hello" });

    expect(response.status).toBe(200);
    expect(response.headers.has("x-breakwater-cost-usd")).toBe(false);
    expect(await storedCost(response)).toBeNull();
  });
});

describe("a stream", () => {
  it("ends with the cost comment right before data: [DONE] (chat), and no header", async () => {
    const response = await post("/v1/chat/completions", {
      model: "mock/echo",
      messages: [{ role: "user", content: "four five six" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.has("x-breakwater-cost-usd")).toBe(false);
    const frames = await framesOf(response);
    const usageChunk = JSON.parse(frames.at(-3)?.slice("data: ".length) ?? "{}") as ChatCompletion;
    if (!usageChunk.usage) throw new Error("no usage chunk");
    const expected = usd(BigInt(usageChunk.usage.prompt_tokens + 2 * usageChunk.usage.completion_tokens), 6);

    expect(frames.slice(-2)).toEqual([`: x-breakwater-cost-usd=${expected}`, "data: [DONE]"]);
    expect(await storedCost(response)).toBe(expected);
  });

  it("ends with the cost comment before data: [DONE] (legacy completions)", async () => {
    const response = await post("/v1/completions", { model: "mock/instruct", prompt: "seven eight", stream: true });
    const frames = await framesOf(response);

    const comment = frames.at(-2) ?? "";
    expect(comment).toMatch(/^: x-breakwater-cost-usd=\d+(\.\d+)?$/);
    expect(frames.at(-1)).toBe("data: [DONE]");
    expect(await storedCost(response)).toBe(comment.split("=")[1]);
  });

  it("ends a Responses stream with the cost comment after its final event", async () => {
    const response = await post("/v1/responses", { model: "mock/echo", input: "nine ten", stream: true });
    const frames = await framesOf(response);
    const final = frames.at(-2) ?? "";
    const usage = (
      JSON.parse(final.split("\ndata: ")[1] ?? "{}") as { response: { usage: { input_tokens: number; output_tokens: number } } }
    ).response.usage;
    const expected = usd(BigInt(usage.input_tokens + 2 * usage.output_tokens), 6);

    expect(final.startsWith("event: response.completed\n")).toBe(true);
    expect(frames.at(-1)).toBe(`: x-breakwater-cost-usd=${expected}`);
    expect(await storedCost(response)).toBe(expected);
  });
});

describe("a stream continued on another target", () => {
  const full = "one two three four five six";
  let alpha: FakeUpstream;
  let beta: FakeUpstream;
  let continuing: TestApp;

  const words = (cutAfter?: number) => wordStream(full, cutAfter);

  beforeAll(async () => {
    [alpha, beta] = [await startFakeUpstream(words(2)), await startFakeUpstream(words())];
    const provider = (name: string, upstream: FakeUpstream) =>
      createOpenAiProvider({
        name,
        baseUrl: upstream.baseUrl,
        apiKey: `sk-${name}`,
        models: [{ id: "m", kind: "chat" }],
        capabilities: { prefill: true },
      });
    continuing = await createTestApp(inject("primaryUrl"), {
      providers: [provider("alpha", alpha), provider("beta", beta)],
      routes: {
        routes: {
          continued: {
            targets: [
              { provider: "alpha", model: "m" },
              { provider: "beta", model: "m" },
            ],
            timeouts: { firstByteMs: 2_000, firstTokenMs: 2_000, idleMs: 500, totalMs: 10_000 },
          },
        },
        providers: { alpha: { prices: { m: { input: 1, output: 2 } } }, beta: { prices: { m: { input: 10, output: 20 } } } },
      },
    });
  });
  afterAll(async () => {
    await continuing?.close();
    for (const upstream of [alpha, beta]) await upstream?.close();
  });

  it("is priced part by part, each at the prices of the target that served it", async () => {
    const response = await continuing.app.request(
      postJson(
        "/v1/chat/completions",
        { model: "continued", messages: [{ role: "user", content: "count" }], stream: true, stream_options: { include_usage: true } },
        continuing.apiKey,
      ),
    );
    const frames = await framesOf(response);
    const usageChunk = JSON.parse(frames.at(-3)?.slice("data: ".length) ?? "{}") as {
      breakwater?: { parts: { provider: string; usage: Usage }[] };
    };
    const parts = usageChunk.breakwater?.parts ?? [];
    expect(parts.map((part) => part.provider)).toEqual(["alpha", "beta"]);
    const [cut, rest] = parts.map((part) => part.usage.prompt_tokens + 2 * part.usage.completion_tokens);
    const expected = usd(BigInt((cut ?? 0) + 10 * (rest ?? 0)), 6);

    expect(frames.slice(-2)).toEqual([`: x-breakwater-cost-usd=${expected}`, "data: [DONE]"]);
  });
});
