import type { Admission } from "./admission/admitted.ts";
import type { Tracer } from "@opentelemetry/api";
import type { AuthFailureAuditor } from "./audit/auth-failures.ts";
import type { AuditLog } from "./audit/writer.ts";
import type { InvalidateEdgeKey } from "./auth/edge-key-cache.ts";
import type { KeyStore } from "./auth/key-store.ts";
import type { Db } from "./db/index.ts";
import type { Migration } from "./db/migrate.ts";
import type { GpuService } from "./gpu/service.ts";
import type { ReplayGuard } from "./http/replay-guard.ts";
import type { TrustedProxies } from "./http/trusted-proxies.ts";
import type { Logger } from "./logger.ts";
import type { RedisStatus } from "./redis-status.ts";
import type { AccessLogOptions } from "./observability/access-log.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { PriceBook } from "./pricing/prices.ts";
import type { Router } from "./routing/router.ts";
import type { SecretFreshness } from "./secrets/secrets.ts";
import type { SigningSecrets } from "./secrets/signing-secrets.ts";
import type { Incidents } from "./status/incidents.ts";
import type { UsageRecorder } from "./usage/recorder.ts";

/**
 * What the regional app is built from: `main.ts` gives real services, tests may give others.
 * Its own module, a leaf, so routes import the type without importing the app that wires them.
 */
export interface AppDeps {
  db: Db;
  keys: KeyStore;
  router: Router;
  logger: Logger;
  migrations: Migration[];
  /**
   * Request body bounds: JSON bodies, and uploads (multipart, binary; unset, 25 MiB); `maxJsonDepth`
   * unset, `readJson` applies the default depth.
   */
  limits: { maxBodyBytes: number; maxJsonDepth?: number; maxUploadBytes?: number };
  /** Flipped by shutdown so readiness fails while in-flight work drains. */
  lifecycle: { shuttingDown: boolean };
  /** The hash-chained audit log; admin actions answer once their event is durable in it. */
  audit: AuditLog;
  /** Audits failed authentications, sampled; unset, they are not audited. */
  authFailures?: AuthFailureAuditor;
  /** Per-request inference usage (tokens, cost, latency, provider, status). */
  usage: UsageRecorder;
  /** What each provider charges per model (providers' `prices`); unset, no cost is known. */
  prices?: PriceBook;
  /** The admin API's key (unset: the admin API answers 403) and the key checkpoints are verified with. */
  admin: { key: string | undefined; checkpointSecret: Buffer };
  /**
   * The secret the edge signs with (or its versions, while it rotates). Set, /v1/* takes only signed calls and the tenant they
   * name; unset (the regional app on its own, in tests), /v1/* checks API keys itself.
   */
  edgeSigningSecret?: string | SigningSecrets;
  /** Drops the edge's shared copy of a key record; call it after revoking or changing a key. */
  invalidateEdgeKey?: InvalidateEdgeKey;
  /** The GPU compute API (/v1/gpu/*); unset, those routes do not exist. */
  gpu?: GpuService;
  /** Peers whose X-Forwarded-For / cf-connecting-ip are believed (TRUSTED_PROXIES); unset, none. */
  trustedProxies?: TrustedProxies;
  /** Signed calls already taken (their nonces); unset, the app keeps its own in memory. */
  replay?: ReplayGuard;
  /** Each Redis client by its use (`replay_guard`, `tenant_lsns`) for `/health/detailed`; unset without REDIS_URL. */
  redisHealth?: () => Record<string, RedisStatus | null>;
  /** Every `secretsmanager:` reference and when it was last read, for `/health/detailed`; unset, none is shown. */
  secretsFreshness?: () => SecretFreshness[];
  /** Admission queues, priorities and degradation per route (regional/admission/); unset, requests go straight to the router. */
  admission?: Admission;
  /** Prometheus metrics (`/metrics` behind the admin key); unset, nothing is measured and the path costs nothing. */
  metrics?: Metrics;
  /** Spans of requests and streams (OTEL_* set); unset, none, though an incoming `traceparent` still reaches the providers. */
  tracer?: Tracer;
  /** The incident history (breaker openings and closings of both tiers) the status page shows; unset, the edge's posts are refused. */
  incidents?: Incidents;
  /** The access log's slow-request threshold (SLOW_REQUEST_MS) and clock; unset, 5 s and `performance.now`. */
  accessLog?: AccessLogOptions;
}
