import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { adminKey, catalogueRoutes, scenarios } from "../support/fault-scenarios.ts";
import { startGatewayStack, type GatewayStack } from "../support/gateway-stack.ts";

/**
 * The fault catalogue from outside, as an operator would try it: the real regional process
 * against a separate fault-injecting upstream serving two OpenAI-compatible providers.
 * Once as one sequence against one long-running gateway (state one fault leaves behind
 * must not fail the next), and each fault alone on a fresh gateway.
 */
async function stackOn(database: TestDatabase, edge = false): Promise<GatewayStack> {
  return await startGatewayStack({
    routes: catalogueRoutes,
    regionalEnv: () => ({ DATABASE_URL: database.url, FAULT_UPSTREAM_KEY: "sk-fault", ADMIN_API_KEY: adminKey, LOG_LEVEL: "error" }),
    edge,
  });
}

describe("the fault catalogue as one sequence against one gateway", () => {
  let database: TestDatabase;
  let stack: GatewayStack;
  beforeAll(async () => {
    database = await createTestDatabase(inject("primaryUrl"));
    stack = await stackOn(database);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  for (const scenario of scenarios) it(scenario.name, async () => await scenario.run(stack), 60_000);
});

describe("each fault alone on a fresh gateway", () => {
  for (const scenario of scenarios) {
    it(
      scenario.name,
      async () => {
        const database = await createTestDatabase(inject("primaryUrl"));
        const stack = await stackOn(database);
        try {
          await scenario.run(stack);
        } finally {
          await stack.close();
          await database.drop();
        }
      },
      120_000,
    );
  }
});

describe("the faults that cross both tiers, through wrangler dev and the regional process", () => {
  let database: TestDatabase;
  let stack: GatewayStack;
  beforeAll(async () => {
    database = await createTestDatabase(inject("primaryUrl"));
    stack = await stackOn(database, true);
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  for (const scenario of scenarios.filter((candidate) => candidate.throughEdge))
    it(scenario.name, async () => await scenario.run(stack), 60_000);
});
