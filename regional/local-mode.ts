import { isLoopbackHost } from "../shared/loopback.ts";
import type { Config } from "./config.ts";

/**
 * A developer's machine: the embedded database and a loopback `HOST`. Nothing else is local:
 * a Postgres server means a shared deployment, and any other address can be reached by others.
 */
export function isLocalMode(config: Pick<Config, "DATABASE_URL" | "HOST">): boolean {
  return !config.DATABASE_URL && isLoopbackHost(config.HOST);
}

/**
 * Outside local mode the regional tier must take inference calls only from the edge: without
 * EDGE_SIGNING_SECRET it checks API keys itself, and anyone who can reach it skips every
 * limit the edge enforces. Throws, saying so, when the secret is missing there.
 */
export function requireEdgeSigning(config: Pick<Config, "DATABASE_URL" | "HOST" | "EDGE_SIGNING_SECRET">): void {
  if (config.EDGE_SIGNING_SECRET || isLocalMode(config)) return;
  const where = config.DATABASE_URL ? "with DATABASE_URL set" : `on HOST ${config.HOST}, which is not a loopback address`;
  throw new Error(
    `EDGE_SIGNING_SECRET is not set. Running ${where} is not local mode (the embedded database on a loopback HOST), ` +
      "and without the secret the regional service would answer API calls that did not come through the edge, so anyone " +
      "who can reach it would skip the edge's rate limits. Set EDGE_SIGNING_SECRET to the secret the edge signs with.",
  );
}

/**
 * Mock providers and marketplaces (and so `x-mock-fault`) exist only in local mode: the
 * embedded database, or `MOCK_PROVIDERS=on` for tests and benches against a real Postgres.
 * Anywhere else any tenant could make them misbehave, or rent a GPU that does not exist.
 */
export function mockProvidersEnabled(config: Pick<Config, "DATABASE_URL" | "MOCK_PROVIDERS">): boolean {
  return config.MOCK_PROVIDERS === undefined ? config.DATABASE_URL === undefined : config.MOCK_PROVIDERS === "on";
}
