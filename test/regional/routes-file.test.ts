import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../regional/config.ts";
import { configuredProviders } from "../../regional/providers/configured.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import { createPlanner } from "../../regional/routing/plan.ts";
import { loadRoutesFile, parseRoutes } from "../../regional/routes-file.ts";

/** Not local mode: no mock providers, no env shorthands. */
const production = loadConfig({ DATABASE_URL: "postgres://gateway@db.internal:5432/breakwater" });

const groq = { type: "openai", baseUrl: "https://api.groq.com/openai/v1", apiKey: "env:GROQ_API_KEY", models: ["llama-3.1-8b-instant"] };

describe("routes file", () => {
  it("stops start-up naming the path and the field at fault", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bw-routes-"));
    const path = join(dir, "routes.json");
    await writeFile(path, JSON.stringify({ routes: { chat: { targets: [{ provider: "mock", model: "echo", weight: -1 }] } } }));
    await expect(loadRoutesFile(path)).rejects.toThrow(`Routes file ${path}: routes.chat.targets.0.weight`);
    await writeFile(path, "{ not json");
    await expect(loadRoutesFile(path)).rejects.toThrow(`Routes file ${path}: not valid JSON`);
    await rm(dir, { recursive: true });
  });

  it("accepts the example shipped with the README: OpenAI, then Groq, then Anthropic", async () => {
    const file = await loadRoutesFile(new URL("../../routes.example.json", import.meta.url).pathname);
    expect(Object.keys(file.routes)).toEqual(["fast-chat", "balanced-chat"]);
    const env = { OPENAI_API_KEY: "sk-openai", GROQ_API_KEY: "gsk-groq", ANTHROPIC_API_KEY: "sk-ant" };
    const planner = createPlanner(createRegistry(configuredProviders(production, file, env)), file);
    const chain = planner.plan("fast-chat", "chat").targets;
    expect(chain.map((target) => `${target.provider.name}/${target.model}`)).toEqual([
      "openai/gpt-4o-mini",
      "groq/llama-3.3-70b-versatile",
      "anthropic/claude-haiku-4-5",
    ]);
    // Context windows come from the providers' model entries, so a too-long prompt can move on.
    expect(chain.map((target) => target.contextWindow)).toEqual([128_000, 131_072, 200_000]);
    expect(chain[0]?.policy.timeouts.firstByteMs).toBe(20_000);
  });

  it("rejects a target no provider serves, naming it", () => {
    const registry = createRegistry([createMockProvider()]);
    const file = parseRoutes({
      routes: {
        chat: {
          targets: [
            { provider: "mock", model: "echo" },
            { provider: "nobody", model: "x" },
          ],
        },
      },
    });
    expect(() => createPlanner(registry, file)).toThrow("routes.chat.targets.1: no provider serves 'nobody/x'");
  });

  it("applies route overrides on top of provider policies and the defaults", () => {
    const registry = createRegistry([createMockProvider()]);
    const file = parseRoutes({
      providers: { mock: { timeouts: { firstTokenMs: 2_000 }, retry: { maxAttempts: 2 } } },
      routes: { chat: { targets: [{ provider: "mock", model: "echo" }], retry: { maxAttempts: 5 } } },
    });
    const planner = createPlanner(registry, file);
    const [routed] = planner.plan("chat", "chat").targets;
    expect(routed?.policy.retry).toMatchObject({ maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 10_000 });
    expect(routed?.policy.timeouts.firstTokenMs).toBe(2_000);
    const [direct] = planner.plan("mock/echo", "chat").targets;
    expect(direct?.policy.retry.maxAttempts).toBe(2);
  });

  it("puts a target drawn by weight first and keeps the rest as fallbacks", () => {
    const registry = createRegistry([createMockProvider(), { ...createMockProvider(), name: "other" }]);
    const file = parseRoutes({
      routes: {
        chat: {
          strategy: "weighted",
          targets: [
            { provider: "mock", model: "echo", weight: 1 },
            { provider: "other", model: "echo", weight: 3 },
          ],
        },
      },
    });
    const planner = createPlanner(registry, file);
    const drawing = (draw: number) => ({ ready: () => true, inFlight: () => 0, latencyMs: () => 0, random: () => draw });
    expect(planner.plan("chat", "chat", drawing(0.1)).targets.map((target) => target.provider.name)).toEqual(["mock", "other"]);
    expect(planner.plan("chat", "chat", drawing(0.5)).targets.map((target) => target.provider.name)).toEqual(["other", "mock"]);
  });
});

describe("providers in the routes file", () => {
  const build = (providers: Record<string, unknown>, env: Record<string, string> = {}) =>
    configuredProviders(production, parseRoutes({ providers }), env);

  it("reads models as names or objects: a name is chat unless it says embed, Anthropic's are chat", () => {
    const file = parseRoutes({
      providers: {
        groq: { ...groq, models: ["llama-3.1-8b-instant", "nomic-embed-text", { id: "big", kind: "chat", contextWindow: 8_192 }] },
        claude: { type: "anthropic", apiKey: "env:ANTHROPIC_API_KEY", models: ["claude-haiku-4-5"] },
      },
    });
    const registry = createRegistry(configuredProviders(production, file, { GROQ_API_KEY: "gsk", ANTHROPIC_API_KEY: "sk-ant" }));
    expect(
      ["groq/llama-3.1-8b-instant", "groq/nomic-embed-text", "groq/big", "claude/claude-haiku-4-5"].map(
        (name) => registry.resolveAny(name).kind,
      ),
    ).toEqual(["chat", "embeddings", "chat", "chat"]);
  });

  it("refuses a key written into the file, naming the field", () => {
    expect(() => parseRoutes({ providers: { groq: { ...groq, apiKey: "gsk_live_123" } } })).toThrow(
      "providers.groq.apiKey: must be a reference such as env:GROQ_API_KEY, never the secret itself",
    );
  });

  it("stops start-up when a referenced environment variable is not set, naming the field", () => {
    expect(() => build({ groq })).toThrow("Routes file: providers.groq.apiKey: environment variable GROQ_API_KEY is not set");
    expect(() => build({ groq: { ...groq, headers: { "X-Team": "env:TEAM_TOKEN" } } }, { GROQ_API_KEY: "gsk" })).toThrow(
      "providers.groq.headers.x-team: environment variable TEAM_TOKEN is not set",
    );
  });

  it("reads secretsmanager references, and refuses them at start-up where no Secrets Manager is given", () => {
    const file = parseRoutes({ providers: { groq: { ...groq, apiKey: "secretsmanager:prod/groq#api_key" } } });
    expect(file.providers.groq).toMatchObject({ apiKey: { from: "secretsmanager", name: "prod/groq", jsonKey: "api_key" } });
    expect(() => configuredProviders(production, file, {})).toThrow(
      "providers.groq.apiKey: secretsmanager:prod/groq cannot be read here (no Secrets Manager configured)",
    );
  });

  it("asks for a type when an entry defines a provider, and names an unknown one", () => {
    expect(() => parseRoutes({ providers: { groq: { baseUrl: "https://api.groq.com/openai/v1", models: ["m"] } } })).toThrow(
      "providers.groq.type: required with baseUrl, models",
    );
    expect(() => parseRoutes({ providers: { groq: { ...groq, type: "openia" } } })).toThrow("providers.groq.type: Invalid option");
  });

  it("names a model listed twice, a header the gateway sets and a provider name with a slash", () => {
    expect(() => parseRoutes({ providers: { groq: { ...groq, models: ["a", { id: "a" }] } } })).toThrow(
      "providers.groq.models.1: 'a' is listed twice",
    );
    expect(() => parseRoutes({ providers: { groq: { ...groq, headers: { "Content-Type": "text/plain" } } } })).toThrow(
      "providers.groq.headers.Content-Type: is set by the gateway",
    );
    expect(() => parseRoutes({ providers: { "groq/eu": groq } })).toThrow("providers.groq/eu: letters, digits");
  });

  it("refuses a header the key already fills", () => {
    expect(() => build({ groq: { ...groq, headers: { Authorization: "Bearer other" } } }, { GROQ_API_KEY: "gsk" })).toThrow(
      "providers.groq.headers.authorization: apiKey already sets this header",
    );
  });

  it("rejects a route target naming a model its provider does not list", () => {
    const file = parseRoutes({ providers: { groq }, routes: { chat: { targets: [{ provider: "groq", model: "llama-3-typo" }] } } });
    const registry = createRegistry(configuredProviders(production, file, { GROQ_API_KEY: "gsk" }));
    expect(() => createPlanner(registry, file)).toThrow("routes.chat.targets.0: no provider serves 'groq/llama-3-typo'");
  });
  it("reads capabilities for a provider and for each model, defaults per type", () => {
    const file = parseRoutes({
      providers: {
        vllm: {
          type: "openai",
          baseUrl: "http://vllm.internal:8000/v1",
          capabilities: { streamOptions: false },
          models: ["llama", { id: "qwen", capabilities: { prefill: true, responseFormat: ["json_schema"] } }],
        },
        claude: {
          type: "anthropic",
          apiKey: "env:ANTHROPIC_API_KEY",
          models: ["claude-opus-4-6", { id: "claude-3-5-sonnet-20241022", capabilities: { temperatureWithTopP: true } }],
        },
      },
    });
    const providers = configuredProviders(production, file, { ANTHROPIC_API_KEY: "sk-ant" });
    const of = (name: string, model: string) => providers.find((provider) => provider.name === name)?.capabilities?.(model);
    expect(of("vllm", "llama")).toEqual({
      streamOptions: false,
      temperatureWithTopP: true,
      prefill: false,
      tools: true,
      responseFormat: ["json_object", "json_schema"],
    });
    expect(of("vllm", "qwen")).toEqual({
      streamOptions: false,
      temperatureWithTopP: true,
      prefill: true,
      tools: true,
      responseFormat: ["json_schema"],
    });
    expect(of("claude", "claude-opus-4-6")).toEqual({
      streamOptions: false,
      temperatureWithTopP: false,
      prefill: false,
      tools: true,
      responseFormat: ["json_schema"],
    });
    expect(of("claude", "claude-3-5-sonnet-20241022")).toEqual({
      streamOptions: false,
      temperatureWithTopP: true,
      prefill: true,
      tools: true,
      responseFormat: [],
    });
  });

  it("names a capability that is unknown, mistyped or impossible for the provider's API", () => {
    expect(() => parseRoutes({ providers: { groq: { ...groq, capabilities: { streamOption: false } } } })).toThrow(
      'providers.groq.capabilities: Unrecognized key: "streamOption"',
    );
    expect(() => parseRoutes({ providers: { groq: { ...groq, models: [{ id: "m", capabilities: { prefill: "yes" } }] } } })).toThrow(
      "providers.groq.models.0.capabilities.prefill: Invalid input: expected boolean",
    );
    expect(() => parseRoutes({ providers: { groq: { ...groq, capabilities: { responseFormat: ["yaml"] } } } })).toThrow(
      "providers.groq.capabilities.responseFormat.0: Invalid option",
    );
    const claude = { type: "anthropic", apiKey: "env:ANTHROPIC_API_KEY", models: ["claude-haiku-4-5"] };
    expect(() => parseRoutes({ providers: { claude: { ...claude, capabilities: { streamOptions: true } } } })).toThrow(
      'providers.claude.capabilities: Unrecognized key: "streamOptions"',
    );
    expect(() => parseRoutes({ providers: { claude: { ...claude, capabilities: { responseFormat: ["json_object"] } } } })).toThrow(
      "providers.claude.capabilities.responseFormat.0: Anthropic models honour json_schema only",
    );
  });
});
