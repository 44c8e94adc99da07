import { describe, expect, it } from "vitest";
import { configuredPrices } from "../../regional/pricing/configured-prices.ts";
import { loadRoutesFile, parseRoutes } from "../../regional/routes-file.ts";

/** Prices in the routes file: validated at start-up with errors naming the provider and model, and what is priced. */

const openai = (prices: unknown) => ({
  providers: {
    openai: { type: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY", models: ["gpt-4o-mini"], prices },
  },
});

describe("prices in the routes file", () => {
  it.each([
    [
      "an unknown price",
      { "gpt-4o-mini": { input: 0.15, output: 0.6, inptu: 1 } },
      "providers.openai.prices.gpt-4o-mini.inptu: unknown price; a model's prices are input, cachedInput, output, image, second",
    ],
    ["a negative price", { "gpt-4o-mini": { input: -0.15, output: 0.6 } }, "providers.openai.prices.gpt-4o-mini.input: "],
    ["a price given as text", { "gpt-4o-mini": { input: 0.15, output: "0.6" } }, "providers.openai.prices.gpt-4o-mini.output: "],
    ["no output price", { "gpt-4o-mini": { input: 0.15 } }, "providers.openai.prices.gpt-4o-mini.output: "],
    [
      "a price per image that is not a number",
      { "gpt-4o-mini": { input: 0, output: 0, image: null } },
      "providers.openai.prices.gpt-4o-mini.image: ",
    ],
    [
      "a model the provider does not list",
      { "gpt-4o-mni": { input: 0.15, output: 0.6 } },
      "providers.openai.prices.gpt-4o-mni: priced, but not one of this provider's models",
    ],
  ])("refuses %s, naming the provider and model", (_, prices, message) => {
    expect(() => parseRoutes(openai(prices), "routes.json")).toThrow(message);
  });

  it("takes prices on an entry without a type, for a provider defined elsewhere", () => {
    const file = parseRoutes({ providers: { openai: { prices: { "gpt-4o-mini": { input: 0.15, output: 0.6 } } } } });
    expect(configuredPrices(file, false).sheet().models).toEqual({ "openai/gpt-4o-mini": { input: 0.15, output: 0.6 } });
  });

  it("prices every model of the example routes file", async () => {
    const file = await loadRoutesFile(new URL("../../routes.example.json", import.meta.url).pathname);
    const sheet = configuredPrices(file, false).sheet();

    expect(sheet.models["openai/gpt-4o-mini"]).toEqual({ input: 0.15, output: 0.6 });
    // A route is priced at the dearest of its targets.
    expect(sheet.models["fast-chat"]).toEqual({ input: 1, output: 5 });
  });
});

describe("the local mock providers", () => {
  it("have example prices when they run", () => {
    const sheet = configuredPrices(parseRoutes({}), true).sheet();
    expect(sheet.models["mock/echo"]).toBeDefined();
    expect(configuredPrices(parseRoutes({}), false).sheet().models).toEqual({});
  });

  it("lose them to a routes file entry that defines the provider anew without prices", () => {
    const sheet = configuredPrices(parseRoutes({ providers: { mock: { type: "mock" } } }), true).sheet();
    expect(Object.keys(sheet.models).filter((model) => model.startsWith("mock/"))).toEqual([]);
    expect(sheet.models["mock-anthropic/echo"]).toBeDefined();
  });
});
