import type { Tracer } from "@opentelemetry/api";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../regional/app.ts";
import type { AppDeps } from "../../regional/deps.ts";
import { createAuthFailureAuditor } from "../../regional/audit/auth-failures.ts";
import { openAuditLog } from "../../regional/audit/open.ts";
import { createKeyStore, type KeyStore } from "../../regional/auth/key-store.ts";
import { trustedProxies } from "../../regional/http/trusted-proxies.ts";
import { openDb, type Db, type DbOptions } from "../../regional/db/index.ts";
import { migrate, readMigrations } from "../../regional/db/migrate.ts";
import type { GpuService } from "../../regional/gpu/service.ts";
import { createLogger, type Logger } from "../../regional/logger.ts";
import { attemptMetrics } from "../../regional/observability/attempt-metrics.ts";
import { countTransitions } from "../../regional/observability/breaker-metrics.ts";
import type { AccessLogOptions } from "../../regional/observability/access-log.ts";
import type { Metrics } from "../../regional/observability/metrics.ts";
import { tracingObserver } from "../../regional/observability/trace-attempts.ts";
import { observeWith } from "../../regional/routing/attempt-observer.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import { createBreakers, type Breakers } from "../../regional/resilience/breakers.ts";
import { onTransitions } from "../../regional/resilience/transition-hooks.ts";
import { createIncidents } from "../../regional/status/incidents.ts";
import { createPlanner } from "../../regional/routing/plan.ts";
import type { RetryBudgetPolicy } from "../../shared/resilience/retry-budget.ts";
import { createRouter, type Clock } from "../../regional/routing/router.ts";
import { parseRoutes } from "../../regional/routes-file.ts";
import { createUsageRecorder } from "../../regional/usage/recorder.ts";
import { configuredPrices } from "../../regional/pricing/configured-prices.ts";
import { testCheckpointSecret } from "./audit.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { waitForReplay } from "../infra/postgres.ts";
import { createAdmission } from "../../regional/admission/create.ts";
import type { QueueClock } from "../../regional/admission/fair-queue.ts";

export interface TestApp {
  app: ReturnType<typeof createApp>;
  db: Db;
  keys: KeyStore;
  /** A valid key of a fresh tenant. */
  apiKey: string;
  tenantId: string;
  deps: AppDeps;
  close(): Promise<void>;
}

export interface TestAppOptions {
  providers?: Provider[];
  /** The routes file's content (validated as at start-up). */
  routes?: unknown;
  clock?: Clock;
  random?: () => number;
  retryBudget?: RetryBudgetPolicy;
  maxBodyBytes?: number;
  /** MAX_UPLOAD_BYTES (unset: the default, 25 MiB). */
  maxUploadBytes?: number;
  keyCacheTtlMs?: number;
  /** ADMIN_API_KEY; unset, the admin API answers 403. */
  adminKey?: string;
  /** Audited auth failures per client and minute (default 10). */
  authFailuresPerMinute?: number;
  /** A streaming replica of `serverUrl`: the app's db reads from it, once it has replayed the set-up. */
  replicaServerUrl?: string;
  /** More openDb options (check interval, lag bound, Redis ...). */
  db?: Partial<DbOptions>;
  /** TRUSTED_PROXIES: addresses or CIDRs whose forwarded-address headers are believed. */
  trustedProxies?: string[];
  /** Builds the GPU API's service (unset: no /v1/gpu routes), over the app's db and breakers. */
  gpu?: (parts: { db: Db; logger: Logger; breakers: Breakers }) => GpuService;
  /** Time and timers of the admission queues; unset, real ones. */
  queueClock?: QueueClock;
  /** Measured into this registry (attempts, breakers, HTTP) and served on `/metrics`, as `main.ts` wires it; unset, nothing is. */
  metrics?: Metrics;
  /** Spans of requests, attempts, streams and queries, as `main.ts` wires a tracer; unset, none (trace context still propagates). */
  tracer?: Tracer;
  /** Every log line of the app and its parts, at debug, is pushed here (JSON text); unset, nothing is logged. */
  logLines?: string[];
  /** The access log's slow-request threshold and clock; unset, 5 s and the real clock. */
  accessLog?: AccessLogOptions;
}

/** The regional app over its own migrated database on the real test Postgres. */
export async function createTestApp(serverUrl: string, options: TestAppOptions = {}): Promise<TestApp> {
  const database: TestDatabase = await createTestDatabase(serverUrl);
  const replicaUrls = options.replicaServerUrl ? [sameDatabase(options.replicaServerUrl, database.url)] : [];
  const db = await openDb({ databaseUrl: database.url, dataDir: "", poolSize: 4, replicaUrls, tracer: options.tracer, ...options.db });
  const migrations = await readMigrations();
  await migrate(db.write, migrations);
  const keys = createKeyStore(db, { cacheTtlMs: options.keyCacheTtlMs ?? 0 });
  const [tenant] = await db.write<{ id: string }[]>`insert into tenants (name) values ('test') returning id`;
  if (!tenant) throw new Error("no tenant row");
  const { key } = await keys.create(tenant.id, "test");
  for (const replicaUrl of replicaUrls) await waitForReplay(database.url, replicaUrl);
  if (replicaUrls.length > 0) await db.checkHealth();
  const { logLines } = options;
  const logger = logLines ? createLogger("debug", (line) => logLines.push(line)) : createLogger("silent");
  const dataDir = await mkdtemp(join(tmpdir(), "bw-app-"));
  const audit = await openAuditLog({
    sql: db.write,
    region: "test",
    dataDir,
    logger,
    checkpointSecret: testCheckpointSecret,
    flushIntervalMs: 50,
    flushEvents: 100,
    checkpointIntervalMs: 60_000,
  });
  const authFailures = createAuthFailureAuditor(audit, { perClientPerMinute: options.authFailuresPerMinute ?? 10 });
  const usage = createUsageRecorder({ sql: db.write, logger, flushIntervalMs: 50, flushEvents: 100 });
  const incidents = createIncidents({ sql: db.write, logger, region: "test", flushIntervalMs: 50 });
  const deps: AppDeps = {
    db,
    keys,
    router: createRouter({
      planner: createPlanner(createRegistry(options.providers ?? [createMockProvider()]), parseRoutes(options.routes ?? {})),
      breakers: createBreakers(
        logger,
        options.clock?.now,
        onTransitions(options.metrics && countTransitions(options.metrics), incidents.onTransition),
      ),
      logger,
      clock: options.clock,
      random: options.random,
      retryBudget: options.retryBudget,
      observer: observeWith(
        ...(options.metrics ? [attemptMetrics(options.metrics)] : []),
        ...(options.tracer ? [tracingObserver(options.tracer)] : []),
      ),
    }),
    logger,
    migrations,
    limits: {
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      ...(options.maxUploadBytes && { maxUploadBytes: options.maxUploadBytes }),
    },
    lifecycle: { shuttingDown: false },
    audit,
    authFailures,
    usage,
    // As the routes file prices them (an entry without a type may price a test's providers).
    prices: configuredPrices(parseRoutes(options.routes ?? {}), false),
    incidents,
    admin: { key: options.adminKey, checkpointSecret: testCheckpointSecret },
    trustedProxies: trustedProxies(options.trustedProxies ?? []),
    ...(options.metrics && { metrics: options.metrics }),
    ...(options.tracer && { tracer: options.tracer }),
    ...(options.accessLog && { accessLog: options.accessLog }),
  };
  if (options.gpu) deps.gpu = options.gpu({ db, logger, breakers: deps.router.breakers });
  const models = deps.router.planner.models().map((model) => model.id);
  deps.admission = createAdmission({ routes: parseRoutes(options.routes ?? {}), models, db, logger, clock: options.queueClock });
  return {
    app: createApp(deps),
    db,
    keys,
    apiKey: key,
    tenantId: tenant.id,
    deps,
    async close() {
      authFailures.stop();
      await usage.close();
      await incidents.close();
      await audit.close();
      await db.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function sameDatabase(serverUrl: string, databaseUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = new URL(databaseUrl).pathname;
  return url.toString();
}

/** An admin key for tests that only need `/health/detailed` (or other admin reads). */
export const testAdminKey = "test-admin-key-for-detailed-health-0123456789";

/** `GET /health/detailed` with the app's admin key (set `adminKey` when creating the app). */
export async function detailedHealth(t: TestApp): Promise<Response> {
  return await t.app.request("/health/detailed", { headers: { authorization: `Bearer ${t.deps.admin.key ?? ""}` } });
}

/** JSON POST with a bearer key, the way an SDK sends it. */
export function postJson(path: string, body: unknown, apiKey: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://regional.test${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Reads an SSE body into its `data:` payloads. */
export async function sseDataOf(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
}
