import { createKeyStore } from "./auth/key-store.ts";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { dbOptionsFrom, openDb } from "./db/index.ts";
import { migrate, readMigrations } from "./db/migrate.ts";
import { ensureDevKey } from "./dev-tenant.ts";
import { createLogger } from "./logger.ts";
import { configuredProviders } from "./providers/configured.ts";
import { createRegistry } from "./providers/registry.ts";
import { createBreakers } from "./routing/breakers.ts";
import { createPlanner } from "./routing/plan.ts";
import { createRouter } from "./routing/router.ts";
import { loadRoutesFile, parseRoutes } from "./routing/routes-file.ts";
import { listen } from "./server.ts";

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const routes = config.ROUTES_FILE ? await loadRoutesFile(config.ROUTES_FILE) : parseRoutes({});
const db = await openDb(dbOptionsFrom(config));
const migrations = await readMigrations();
const applied = await migrate(db.write, migrations);
if (applied.length > 0) logger.info("migrations applied", { versions: applied });

const keys = createKeyStore(db, { cacheTtlMs: config.KEY_CACHE_TTL_MS });
const devKey = await ensureDevKey(db, keys, { devKey: config.BREAKWATER_DEV_KEY, dataDir: config.DATA_DIR });
const lifecycle = { shuttingDown: false };
const registry = createRegistry(configuredProviders(config));
const router = createRouter({ planner: createPlanner(registry, routes), breakers: createBreakers(logger), logger });
const app = createApp({ db, keys, router, logger, migrations, limits: { maxBodyBytes: config.MAX_BODY_BYTES }, lifecycle });
const server = await listen(app, config.HOST, config.PORT);

logger.info("regional service listening", { url: server.url, database: db.embedded ? "embedded PGlite" : "postgres", models: router.planner.models().map((model) => model.id) });
// The one line a newcomer needs; printed plainly so it is easy to copy.
if (devKey) process.stdout.write(`API key: ${devKey}\n`);

async function shutdown(signal: string): Promise<void> {
  if (lifecycle.shuttingDown) return;
  lifecycle.shuttingDown = true;
  logger.info("shutting down", { signal, graceMs: config.SHUTDOWN_GRACE_MS });
  try {
    await server.close(config.SHUTDOWN_GRACE_MS);
    await db.close();
  } catch (error) {
    logger.error("shutdown failed", { error });
    process.exitCode = 1;
  }
  logger.info("stopped");
}

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
