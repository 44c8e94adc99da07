import { edgeKeyInvalidator } from "./auth/edge-key-cache.ts";
import { createKeyStore } from "./auth/key-store.ts";
import { createApp } from "./app.ts";
import { startAuditing } from "./audit/start.ts";
import { loadConfig, loadSecretsConfig } from "./config.ts";
import { dbOptionsFrom, openDb } from "./db/index.ts";
import { migrate, readMigrations } from "./db/migrate.ts";
import { ensureDevKey } from "./dev-tenant.ts";
import { configuredMarketplaces } from "./gpu/configured.ts";
import { createGpuGuard } from "./gpu/guard.ts";
import { startGpuPoller, startGpuSweeper } from "./gpu/poller.ts";
import { createGpuService } from "./gpu/service.ts";
import { createLogger } from "./logger.ts";
import { configuredProviders } from "./providers/configured.ts";
import { configuredPrices } from "./pricing/configured-prices.ts";
import { createRegistry } from "./providers/registry.ts";
import { secretsManagerRefsIn } from "./providers/secret-ref.ts";
import { createBreakers } from "./resilience/breakers.ts";
import { createPlanner } from "./routing/plan.ts";
import { createRouter } from "./routing/router.ts";
import { loadRoutesFile, parseRoutes } from "./routes-file.ts";
import { rotatingPassword } from "./secrets/db-password.ts";
import { openSecrets } from "./secrets/open.ts";
import { resolveSecretSettings } from "./secrets/settings.ts";
import { rotatingSigningSecrets } from "./secrets/signing-secrets.ts";
import { listen } from "./server.ts";
import { mockProvidersEnabled, requireEdgeSigning } from "./local-mode.ts";
import { trustedProxies } from "./http/trusted-proxies.ts";
import { createReplayGuard } from "./http/replay-guard.ts";
import { attemptMetrics } from "./observability/attempt-metrics.ts";
import { countTransitions } from "./observability/breaker-metrics.ts";
import { onTransitions } from "./resilience/transition-hooks.ts";
import { createIncidents } from "./status/incidents.ts";
import { createMetrics } from "./observability/metrics.ts";
import { metricsApp } from "./observability/metrics-route.ts";
import { tracingObserver } from "./observability/trace-attempts.ts";
import { tracingFromEnv } from "./observability/tracing.ts";
import { observeWith } from "./routing/attempt-observer.ts";
import { createAdmission } from "./admission/create.ts";

const secretsConfig = loadSecretsConfig();
const logger = createLogger(secretsConfig.LOG_LEVEL);
// Until it serves, a throw is a failed start: logged redacted (Node's default handler would print
// it as it is, connection strings and all) and exit 1. Replaced by the serving handlers below.
const failedStart = (error: unknown) => {
  logger.error("start-up failed", { error });
  process.exit(1);
};
process.on("uncaughtException", failedStart);
process.on("unhandledRejection", failedStart);
// Settings given as `secretsmanager:` references are read first: the configuration checks their values.
const secrets = openSecrets(secretsConfig, logger);
const settings = await resolveSecretSettings(process.env, secrets);
const config = loadConfig(settings.env);
requireEdgeSigning(config);
// Off unless the standard OTEL_* variables name an OTLP endpoint; a bad one stops start-up here.
const tracing = tracingFromEnv(process.env);
const routes = config.ROUTES_FILE ? await loadRoutesFile(config.ROUTES_FILE) : parseRoutes({});
for (const ref of secretsManagerRefsIn(routes.providers)) secrets.secret(ref, "AWSCURRENT", `routes file ${config.ROUTES_FILE ?? ""}`);
const signingRef = settings.references.EDGE_SIGNING_SECRET;
const edgeSigningSecret = signingRef ? rotatingSigningSecrets(secrets, signingRef) : config.EDGE_SIGNING_SECRET;
// Every secret is read before the first request: none is ever waited for on the request path.
await secrets.prime();
// Built before the database opens: a provider misconfigured stops start-up at once.
const registry = createRegistry(configuredProviders(config, routes, process.env, secrets));
const passwordRef = settings.references.DATABASE_PASSWORD;
const db = await openDb({
  ...dbOptionsFrom(config, logger),
  ...(passwordRef && { password: rotatingPassword(secrets, passwordRef, logger) }),
  tracer: tracing?.tracer,
});
const migrations = await readMigrations();
const applied = await migrate(db.write, migrations);
if (applied.length > 0) logger.info("migrations applied", { versions: applied });
await db.barrier();

const keys = createKeyStore(db, { cacheTtlMs: config.KEY_CACHE_TTL_MS });
const devKey = await ensureDevKey(db, keys, {
  devKey: config.BREAKWATER_DEV_KEY,
  dataDir: config.DATA_DIR,
  limits: { rpm: config.BREAKWATER_DEV_RPM, tpm: config.BREAKWATER_DEV_TPM },
});
const lifecycle = { shuttingDown: false };
const auditing = await startAuditing(config, db, logger);
const metrics = createMetrics();
// Breaker openings and closings, kept for the status page (written in batches, off the request path).
const incidents = createIncidents({ sql: db.write, logger, region: config.REGION });
const router = createRouter({
  planner: createPlanner(registry, routes),
  breakers: createBreakers(logger, Date.now, onTransitions(countTransitions(metrics), incidents.onTransition)),
  logger,
  observer: observeWith(attemptMetrics(metrics), ...(tracing ? [tracingObserver(tracing.tracer)] : [])),
});
const edgeAccess = {
  edgeSigningSecret,
  // Every instance of the region refuses a signed call another already took (with REDIS_URL).
  replay: createReplayGuard({ redisUrl: config.REDIS_URL, logger }),
  invalidateEdgeKey: edgeKeyInvalidator({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN }, logger),
};
const marketplaces = configuredMarketplaces(config, logger);
// No marketplace (no keys outside local mode): no /v1/gpu at all.
const gpu =
  marketplaces.length === 0
    ? undefined
    : createGpuService({
        db,
        logger,
        marketplaces,
        guard: createGpuGuard({ breakers: router.breakers, timeoutMs: config.GPU_TIMEOUT_MS, attempts: 3 }),
        createTimeoutMs: config.GPU_CREATE_TIMEOUT_MS,
        audit: auditing.deps.audit,
        region: config.REGION,
        giveUpAfterMs: config.GPU_GIVE_UP_AFTER_MS,
      });
const app = createApp({
  db,
  keys,
  router,
  logger,
  migrations,
  limits: { maxBodyBytes: config.MAX_BODY_BYTES, maxJsonDepth: config.MAX_JSON_DEPTH, maxUploadBytes: config.MAX_UPLOAD_BYTES },
  lifecycle,
  gpu,
  trustedProxies: trustedProxies(config.TRUSTED_PROXIES),
  ...edgeAccess,
  ...auditing.deps,
  // What /health/detailed shows of Redis (by use, never the URL) and of each secret reference.
  ...(config.REDIS_URL && { redisHealth: () => ({ replay_guard: edgeAccess.replay.redis(), tenant_lsns: db.redis() }) }),
  secretsFreshness: () => secrets.freshness(),
  metrics,
  incidents,
  tracer: tracing?.tracer,
  accessLog: { slowRequestMs: config.SLOW_REQUEST_MS },
  prices: configuredPrices(routes, mockProvidersEnabled(config)),
  admission: createAdmission({ routes, models: router.planner.models().map((model) => model.id), db, logger }),
});
const server = await listen(app, config.HOST, config.PORT);
// Without a key, for the private network only: never expose METRICS_PORT to the internet.
const metricsServer =
  config.METRICS_PORT === undefined
    ? undefined
    : await listen(metricsApp(metrics), config.METRICS_HOST ?? config.HOST, config.METRICS_PORT);
const gpuPoller =
  gpu && config.GPU_POLL_INTERVAL_MS > 0 ? startGpuPoller(gpu, { intervalMs: config.GPU_POLL_INTERVAL_MS, batch: 100, logger }) : undefined;
const gpuSweeper =
  gpu && config.GPU_SWEEP_INTERVAL_MS > 0 ? startGpuSweeper(gpu, { intervalMs: config.GPU_SWEEP_INTERVAL_MS, logger }) : undefined;

logger.info("regional service listening", {
  url: server.url,
  ...(metricsServer && { metrics: `${metricsServer.url}/metrics` }),
  database: db.embedded ? "embedded PGlite" : "postgres",
  replicas: db.health().replicas.length,
  models: router.planner.models().map((model) => model.id),
});
// The one line a newcomer needs; printed plainly so it is easy to copy.
if (devKey) process.stdout.write(`API key: ${devKey}\n`);

async function shutdown(signal: string): Promise<void> {
  if (lifecycle.shuttingDown) return;
  lifecycle.shuttingDown = true;
  logger.info("shutting down", { signal, graceMs: config.SHUTDOWN_GRACE_MS });
  try {
    await server.close(config.SHUTDOWN_GRACE_MS);
    await metricsServer?.close(0);
    await gpuPoller?.stop();
    await gpuSweeper?.stop();
    await auditing.close();
    await incidents.close();
    await edgeAccess.replay.close();
    await db.close();
    // Last: the spans of everything above are exported before the process ends.
    await tracing?.shutdown();
  } catch (error) {
    logger.error("shutdown failed", { error });
    process.exitCode = 1;
  }
  logger.info("stopped");
}

// A rejection nobody awaited (seen from the Postgres driver on a connection reset mid-outage)
// must not take every in-flight request down with it: log it and keep serving.
process.off("uncaughtException", failedStart);
process.off("unhandledRejection", failedStart);
process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: reason }));
// A throw nobody caught leaves the process in a state nobody knows (Node's guidance): log it, stop
// taking requests, let those in flight finish within the grace period, and exit non-zero for
// the supervisor to start a fresh process. The log is written synchronously, so the line is out first.
process.on("uncaughtException", (error) => {
  logger.error("uncaught exception; shutting down", { error });
  process.exitCode = 1;
  // Whatever threw may also hang the shutdown: past the grace period and some, exit regardless.
  setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS + 10_000).unref();
  void shutdown("uncaughtException").finally(() => process.exit(1));
});

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
