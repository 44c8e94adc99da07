import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../regional/config.ts";
import { configuredMarketplaces } from "../../regional/gpu/configured.ts";
import { createLogger } from "../../regional/logger.ts";
import { configuredProviders } from "../../regional/providers/configured.ts";
import { serveMockUpstream, type ServedMockUpstream } from "../../regional/providers/mock/serve.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import { parseRoutes } from "../../regional/routes-file.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

const databaseUrl = "postgres://gateway@db.internal:5432/breakwater";
const modelsOf = (env: Record<string, string>) =>
  createRegistry(configuredProviders(loadConfig(env)))
    .list()
    .map((model) => model.id);

describe("mock providers only in local mode", () => {
  it("has no mock models with a DATABASE_URL and no MOCK_PROVIDERS: mock/echo does not exist", () => {
    const registry = createRegistry(configuredProviders(loadConfig({ DATABASE_URL: databaseUrl })));
    expect(registry.list()).toEqual([]);
    expect(() => registry.resolve("mock/echo", "chat")).toThrow(expect.objectContaining({ code: "model_not_found", status: 404 }));
  });

  it("has them with MOCK_PROVIDERS=on, and with the embedded database unless MOCK_PROVIDERS=off", () => {
    const mocks = [
      "mock/echo",
      "mock/embed",
      "mock/instruct",
      "mock/image",
      "mock/whisper",
      "mock/speak",
      "mock/moderate",
      "mock-anthropic/echo",
    ];
    expect(modelsOf({ DATABASE_URL: databaseUrl, MOCK_PROVIDERS: "on" })).toEqual(mocks);
    expect(modelsOf({})).toEqual(mocks);
    expect(modelsOf({ MOCK_PROVIDERS: "off" })).toEqual([]);
  });

  it("has no mock GPU marketplaces outside local mode: without marketplace keys the GPU API is off", () => {
    const logger = createLogger("silent");
    expect(configuredMarketplaces(loadConfig({ DATABASE_URL: databaseUrl }), logger)).toEqual([]);
    expect(
      configuredMarketplaces(loadConfig({ DATABASE_URL: databaseUrl, MOCK_PROVIDERS: "on" }), logger).map(
        (marketplace) => marketplace.name,
      ),
    ).toEqual(["vastai", "ionet"]);
  });

  it("stops start-up on a mock entry in the routes file outside local mode, naming the field", () => {
    const file = parseRoutes({ providers: { flaky: { type: "mock", faults: { echo: "status=503;times=1" } } } });
    expect(() => configuredProviders(loadConfig({ DATABASE_URL: databaseUrl }), file, {})).toThrow(
      "Routes file: providers.flaky.type: mock providers exist only in local mode",
    );
    expect(
      createRegistry(configuredProviders(loadConfig({}), file, {}))
        .list()
        .map((model) => model.id),
    ).toContain("flaky/echo");
  });
});

describe("x-mock-fault outside local mode", () => {
  let upstream: ServedMockUpstream;
  let t: TestApp;

  beforeAll(async () => {
    // A real provider whose upstream would honour the header, were it ever passed on.
    upstream = await serveMockUpstream(0);
    const file = parseRoutes({
      providers: { real: { type: "openai", baseUrl: `${upstream.url}/openai/v1`, apiKey: "env:REAL_KEY", models: ["echo"] } },
    });
    const providers = configuredProviders(loadConfig({ DATABASE_URL: databaseUrl }), file, { REAL_KEY: "sk-real" });
    t = await createTestApp(inject("primaryUrl"), { providers });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const ask = (model: string) =>
    t.app.request(
      postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "still here" }] }, t.apiKey, {
        "x-mock-fault": "status=503",
      }),
    );

  it("answers 404 model_not_found for mock/echo", async () => {
    const response = await ask("mock/echo");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "model_not_found" } });
  });

  it("reaches no provider: a real one answers as if the header were not there", async () => {
    const response = await ask("real/echo");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ choices: [{ message: { content: "still here" } }] });
    expect(upstream.upstream.calls("echo")).toBe(1);
  });
});
