import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../regional/config.ts";
import { configuredProviders } from "../../regional/providers/configured.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import type { CallContext, Provider } from "../../regional/providers/types.ts";
import { parseRoutes } from "../../regional/routes-file.ts";
import { sendJson, sleep, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";

/** Not local mode, so only what the environment and the file define exists. */
const production = { DATABASE_URL: "postgres://gateway@db.internal:5432/breakwater" };

let first: FakeUpstream;
let second: FakeUpstream;

const completion = (model: string) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model,
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
});
const answer = (_: unknown, response: ServerResponse) => sendJson(response, 200, completion("m"));

beforeAll(async () => {
  [first, second] = await Promise.all([startFakeUpstream(answer), startFakeUpstream(answer)]);
});
afterAll(async () => {
  await Promise.all([first?.close(), second?.close()]);
});
beforeEach(() => {
  for (const upstream of [first, second]) {
    upstream.requests.length = 0;
    upstream.handle(answer);
  }
});

const context = (): CallContext => ({ signal: new AbortController().signal, requestId: "req-config" });
const ask = (provider: Provider | undefined, model: string) => {
  if (!provider) throw new Error("no such provider");
  return provider.chat({ model, messages: [{ role: "user", content: "hi" }] }, context());
};
const byName = (providers: Provider[], name: string) => providers.find((provider) => provider.name === name);

describe("providers built from configuration", () => {
  it("serves two OpenAI-compatible vendors side by side, each with its own URL, key and headers", async () => {
    const file = parseRoutes({
      providers: {
        openai: {
          type: "openai",
          baseUrl: first.baseUrl,
          apiKey: "env:OPENAI_API_KEY",
          headers: { "OpenAI-Organization": "org-acme" },
          models: ["gpt-4o-mini"],
        },
        groq: {
          type: "openai",
          baseUrl: second.baseUrl,
          apiKey: "env:GROQ_API_KEY",
          headers: { "X-Project": "env:GROQ_PROJECT" },
          models: ["llama-3.1-8b-instant"],
        },
      },
    });
    const providers = configuredProviders(loadConfig(production), file, {
      OPENAI_API_KEY: "sk-openai",
      GROQ_API_KEY: "gsk-groq",
      GROQ_PROJECT: "proj-7",
    });
    expect(
      createRegistry(providers)
        .list()
        .map((model) => model.id),
    ).toEqual(["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]);

    await ask(byName(providers, "openai"), "gpt-4o-mini");
    await ask(byName(providers, "groq"), "llama-3.1-8b-instant");
    expect(first.requests[0]?.headers).toMatchObject({ authorization: "Bearer sk-openai", "openai-organization": "org-acme" });
    expect(second.requests[0]?.headers).toMatchObject({ authorization: "Bearer gsk-groq", "x-project": "proj-7" });
    expect(JSON.parse(second.requests[0]?.body ?? "{}")).toMatchObject({ model: "llama-3.1-8b-instant" });
  });

  it("sends no authorization to an OpenAI-compatible server given no key", async () => {
    const file = parseRoutes({ providers: { vllm: { type: "openai", baseUrl: first.baseUrl, models: ["m"] } } });
    await ask(byName(configuredProviders(loadConfig(production), file, {}), "vllm"), "m");
    expect(first.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("still expands OPENAI_* and ANTHROPIC_* into providers named openai and anthropic", async () => {
    const config = loadConfig({
      ...production,
      OPENAI_API_KEY: "sk-env",
      OPENAI_BASE_URL: first.baseUrl,
      OPENAI_MODELS: "gpt-4o-mini,text-embedding-3-small",
      ANTHROPIC_API_KEY: "sk-ant",
    });
    const providers = configuredProviders(config);
    expect(
      createRegistry(providers)
        .list()
        .map((model) => model.id),
    ).toEqual(["openai/gpt-4o-mini", "openai/text-embedding-3-small", "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5"]);
    expect(createRegistry(providers).resolveAny("openai/text-embedding-3-small").kind).toBe("embeddings");
    await ask(byName(providers, "openai"), "gpt-4o-mini");
    expect(first.requests[0]?.headers.authorization).toBe("Bearer sk-env");
  });

  it("lets a typed file entry named openai replace the OPENAI_* shorthand", async () => {
    const config = loadConfig({ ...production, OPENAI_API_KEY: "sk-env", OPENAI_BASE_URL: first.baseUrl });
    const file = parseRoutes({
      providers: { openai: { type: "openai", baseUrl: second.baseUrl, apiKey: "env:OPENAI_API_KEY", models: ["gpt-4.1"] } },
    });
    const providers = configuredProviders(config, file, { OPENAI_API_KEY: "sk-env" });
    expect(
      createRegistry(providers)
        .list()
        .map((model) => model.id),
    ).toEqual(["openai/gpt-4.1"]);
    await ask(byName(providers, "openai"), "gpt-4.1");
    expect(first.requests).toHaveLength(0);
    expect(second.requests[0]?.headers.authorization).toBe("Bearer sk-env");
  });

  it("gives each provider the pool its entry asks for", async () => {
    const held: ServerResponse[] = [];
    first.handle((_, response) => void held.push(response));
    const file = parseRoutes({
      providers: { small: { type: "openai", baseUrl: first.baseUrl, models: ["m"], pool: { maxSockets: 1, queueTimeoutMs: 50 } } },
    });
    const small = byName(configuredProviders(loadConfig(production), file, {}), "small");
    const hanging = ask(small, "m");
    while (held.length === 0) await sleep(5);
    await expect(ask(small, "m")).rejects.toMatchObject({ code: "overloaded" });
    sendJson(held[0] as ServerResponse, 200, completion("m"));
    await expect(hanging).resolves.toMatchObject({ id: "chatcmpl-1" });
  });
  it("fits requests to the capabilities its entry gives: a neutral top_p left out, a meaningful one refused", async () => {
    const file = parseRoutes({
      providers: { strict: { type: "openai", baseUrl: first.baseUrl, capabilities: { temperatureWithTopP: false }, models: ["m"] } },
    });
    const strict = byName(configuredProviders(loadConfig(production), file, {}), "strict");
    if (!strict) throw new Error("no such provider");
    await strict.chat({ model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0.2, top_p: 1 }, context());
    const sent = JSON.parse(first.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(sent.temperature).toBe(0.2);
    expect(sent).not.toHaveProperty("top_p");
    await expect(
      strict.chat({ model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0.2, top_p: 0.5 }, context()),
    ).rejects.toMatchObject({ code: "invalid_request", param: "top_p" });
    expect(first.requests).toHaveLength(1);
  });
});
