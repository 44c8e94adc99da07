import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";
import { adminAudit } from "./http/admin-audit.ts";
import { adminAuth } from "./http/admin-auth.ts";
import { apiKeyAuth } from "./http/api-key-auth.ts";
import { clientAddressing, edgeVouchedClient } from "./http/client-ip.ts";
import type { AppEnv } from "./http/context.ts";
import { edgeSignature } from "./http/edge-signature.ts";
import { budgetCrossings } from "./http/budget-crossings.ts";
import { createReplayGuard } from "./http/replay-guard.ts";
import { notFound } from "../shared/http/errors.ts";
import { errorHandler } from "./http/errors.ts";
import { requestId } from "../shared/http/request-id.ts";
import { usageMeter } from "./http/usage-meter.ts";
import { responseEnd } from "./http/response-end.ts";
import { accessLog } from "./observability/access-log.ts";
import { traceRequests } from "./observability/trace-requests.ts";
import { adminRoute } from "./routes/admin/index.ts";
import { chatRoute } from "./routes/chat.ts";
import { embeddingsRoute } from "./routes/embeddings.ts";
import { audioRoute } from "./routes/audio.ts";
import { completionsRoute } from "./routes/completions.ts";
import { imagesRoute } from "./routes/images.ts";
import { moderationsRoute } from "./routes/moderations.ts";
import { responsesRoute } from "./routes/responses.ts";
import { gpuRoute } from "./routes/gpu.ts";
import { healthRoute } from "./routes/health.ts";
import { internalRoute } from "./routes/internal.ts";
import { modelsRoute } from "./routes/models.ts";
import { httpMetrics } from "./observability/http-metrics.ts";
import { scrape } from "./observability/metrics-route.ts";

/** The regional HTTP app; `main.ts` gives it real dependencies, tests may give others. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFound());
  app.use(requestId());
  app.use(responseEnd());
  app.use(accessLog(deps.logger, deps.accessLog));
  app.use(traceRequests(deps.tracer));
  if (deps.metrics) app.use(httpMetrics(deps.metrics));
  app.use(clientAddressing(deps.trustedProxies));
  app.route("/health", healthRoute(deps));
  if (deps.metrics) {
    deps.metrics.watch(deps);
    app.get("/metrics", adminAuth({ adminKey: deps.admin.key, failures: deps.authFailures }), scrape(deps.metrics));
  }
  if (deps.edgeSigningSecret) {
    const signed = { secret: deps.edgeSigningSecret, maxBodyBytes: deps.limits.maxBodyBytes, replay: deps.replay ?? createReplayGuard() };
    app.use("/internal/*", edgeSignature({ ...signed, identity: false }));
    app.route("/internal", internalRoute(deps));
    app.use("/v1/*", edgeSignature({ ...signed, identity: true }), edgeVouchedClient(), budgetCrossings(deps.audit, deps.logger));
  } else {
    app.use("/v1/*", apiKeyAuth(deps.keys, deps.authFailures));
  }
  app.use("/v1/*", usageMeter(deps.usage, deps.metrics?.targets, deps.prices));
  app.route("/v1", chatRoute(deps));
  app.route("/v1", embeddingsRoute(deps));
  app.route("/v1", responsesRoute(deps));
  app.route("/v1", completionsRoute(deps));
  app.route("/v1", imagesRoute(deps));
  app.route("/v1", audioRoute(deps));
  app.route("/v1", moderationsRoute(deps));
  app.route("/v1", modelsRoute(deps));
  if (deps.gpu) app.route("/v1", gpuRoute(deps.gpu, deps.limits));
  // Every /admin route, whoever adds it, is behind the admin key and audited.
  app.use("/admin/*", adminAuth({ adminKey: deps.admin.key, failures: deps.authFailures }), adminAudit(deps.audit));
  app.route("/admin", adminRoute(deps));
  return app;
}
