import { createApp } from "../../regional/app.ts";
import type { AppDeps } from "../../regional/deps.ts";
import { createLogger } from "../../regional/logger.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import { createBreakers } from "../../regional/resilience/breakers.ts";
import { createPlanner } from "../../regional/routing/plan.ts";
import { createRouter } from "../../regional/routing/router.ts";
import { parseRoutes } from "../../regional/routes-file.ts";

/**
 * Asks the real regional app (its routes as app.ts mounts them) for a health path, without a
 * database: the app is shutting down, so readiness answers before it would touch one. Only
 * what building the app reads is given; anything else a request reached would throw.
 */
export async function requestRegionalHealth(path: string): Promise<{ status: number; body: unknown }> {
  const logger = createLogger("silent");
  const router = createRouter({
    planner: createPlanner(createRegistry([createMockProvider()]), parseRoutes({})),
    breakers: createBreakers(logger),
    logger,
  });
  const given: Partial<AppDeps> = {
    logger,
    router,
    lifecycle: { shuttingDown: true },
    limits: { maxBodyBytes: 1024 },
    admin: { key: undefined, checkpointSecret: Buffer.alloc(32) },
  };
  const response = await createApp(given as AppDeps).request(path);
  return { status: response.status, body: await response.json() };
}
