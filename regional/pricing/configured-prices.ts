import type { RoutesFile } from "../routes-file.ts";
import { createPriceBook, type PriceBook, type ProviderPrices } from "./prices.ts";

/** Example prices for the local mock providers (`npm start`), so answers show a cost; not any vendor's real ones. */
export const localMockPrices: Record<string, ProviderPrices> = {
  mock: {
    echo: { input: 0.15, cachedInput: 0.075, output: 0.6 },
    embed: { input: 0.02, output: 0 },
    instruct: { input: 1.5, output: 2 },
    image: { input: 5, output: 40, image: 0.04 },
    whisper: { input: 2.5, output: 10, second: 0.0001 },
  },
  "mock-anthropic": { echo: { input: 1, cachedInput: 0.1, output: 5 } },
};

/**
 * The prices in force: the local mocks' examples (when mocks run), then the routes file's. A
 * file entry's `prices` replace the defaults of its provider; an entry with a `type` but no
 * `prices` defines a provider of its own, so the defaults of the one it replaces go too.
 */
export function configuredPrices(routes: RoutesFile, mocks: boolean): PriceBook {
  const prices: Record<string, ProviderPrices> = mocks ? { ...localMockPrices } : {};
  for (const [name, entry] of Object.entries(routes.providers)) {
    if (entry.prices) prices[name] = entry.prices;
    else if (entry.type !== undefined) delete prices[name];
  }
  return createPriceBook(prices, routes.routes);
}
