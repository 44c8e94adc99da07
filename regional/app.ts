import { Hono } from "hono";
import type { AuthFailureAuditor } from "./audit/auth-failures.ts";
import type { AuditLog } from "./audit/writer.ts";
import type { InvalidateEdgeKey } from "./auth/edge-key-cache.ts";
import type { KeyStore } from "./auth/key-store.ts";
import type { Db } from "./db/index.ts";
import type { Migration } from "./db/migrate.ts";
import type { GpuService } from "./gpu/service.ts";
import { adminAudit } from "./http/admin-audit.ts";
import { adminAuth } from "./http/admin-auth.ts";
import { apiKeyAuth } from "./http/api-key-auth.ts";
import { clientAddressing, edgeVouchedClient } from "./http/client-ip.ts";
import type { AppEnv } from "./http/context.ts";
import { edgeSignature } from "./http/edge-signature.ts";
import { errorHandler, notFound } from "./http/errors.ts";
import { requestId } from "./http/request-id.ts";
import { usageMeter } from "./http/usage-meter.ts";
import type { Logger } from "./logger.ts";
import type { Router } from "./routing/router.ts";
import { adminRoute } from "./routes/admin/index.ts";
import { chatRoute } from "./routes/chat.ts";
import { embeddingsRoute } from "./routes/embeddings.ts";
import { gpuRoute } from "./routes/gpu.ts";
import { healthRoute } from "./routes/health.ts";
import { internalRoute } from "./routes/internal.ts";
import { modelsRoute } from "./routes/models.ts";
import type { SigningSecrets } from "./secrets/signing-secrets.ts";
import type { TrustedProxies } from "./http/trusted-proxies.ts";
import type { UsageRecorder } from "./usage/recorder.ts";

export interface AppDeps {
  db: Db;
  keys: KeyStore;
  router: Router;
  logger: Logger;
  migrations: Migration[];
  /** Request body bounds; `maxJsonDepth` unset, `readJson` applies the default depth. */
  limits: { maxBodyBytes: number; maxJsonDepth?: number };
  /** Flipped by shutdown so readiness fails while in-flight work drains. */
  lifecycle: { shuttingDown: boolean };
  /** The hash-chained audit log; admin actions answer once their event is durable in it. */
  audit: AuditLog;
  /** Audits failed authentications, sampled; unset, they are not audited. */
  authFailures?: AuthFailureAuditor;
  /** Per-request inference usage (tokens, latency, provider, status). */
  usage: UsageRecorder;
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
}

/** The regional HTTP app; `main.ts` gives it real dependencies, tests may give others. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFound);
  app.use(requestId());
  app.use(clientAddressing(deps.trustedProxies));
  app.route("/health", healthRoute(deps));
  if (deps.edgeSigningSecret) {
    const signed = { secret: deps.edgeSigningSecret, maxBodyBytes: deps.limits.maxBodyBytes };
    app.use("/internal/*", edgeSignature({ ...signed, identity: false }));
    app.route("/internal", internalRoute(deps));
    app.use("/v1/*", edgeSignature({ ...signed, identity: true }), edgeVouchedClient());
  } else {
    app.use("/v1/*", apiKeyAuth(deps.keys, deps.authFailures));
  }
  app.use("/v1/*", usageMeter(deps.usage));
  app.route("/v1", chatRoute(deps));
  app.route("/v1", embeddingsRoute(deps));
  app.route("/v1", modelsRoute(deps));
  if (deps.gpu) app.route("/v1", gpuRoute(deps.gpu, deps.limits));
  // Every /admin route, whoever adds it, is behind the admin key and audited.
  app.use("/admin/*", adminAuth({ adminKey: deps.admin.key, failures: deps.authFailures }), adminAudit(deps.audit));
  app.route("/admin", adminRoute(deps));
  return app;
}
