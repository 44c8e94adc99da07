import type { Config } from "./config.ts";

/**
 * Mock providers and marketplaces (and so `x-mock-fault`) exist only in local mode: the
 * embedded database, or `MOCK_PROVIDERS=on` for tests and benches against a real Postgres.
 * Anywhere else any tenant could make them misbehave, or rent a GPU that does not exist.
 */
export function mockProvidersEnabled(config: Pick<Config, "DATABASE_URL" | "MOCK_PROVIDERS">): boolean {
  return config.MOCK_PROVIDERS === undefined ? config.DATABASE_URL === undefined : config.MOCK_PROVIDERS === "on";
}
