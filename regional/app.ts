import { Hono } from "hono";
import type { KeyStore } from "./auth/key-store.ts";
import type { Db } from "./db/index.ts";
import type { Migration } from "./db/migrate.ts";
import { apiKeyAuth } from "./http/api-key-auth.ts";
import type { AppEnv } from "./http/context.ts";
import { errorHandler, notFound } from "./http/errors.ts";
import { requestId } from "./http/request-id.ts";
import type { Logger } from "./logger.ts";
import type { Router } from "./routing/router.ts";
import { chatRoute } from "./routes/chat.ts";
import { embeddingsRoute } from "./routes/embeddings.ts";
import { healthRoute } from "./routes/health.ts";
import { modelsRoute } from "./routes/models.ts";

export interface AppDeps {
  db: Db;
  keys: KeyStore;
  router: Router;
  logger: Logger;
  migrations: Migration[];
  limits: { maxBodyBytes: number };
  /** Flipped by shutdown so readiness fails while in-flight work drains. */
  lifecycle: { shuttingDown: boolean };
}

/** The regional HTTP app; `main.ts` gives it real dependencies, tests may give others. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.logger));
  app.notFound(notFound);
  app.use(requestId());
  app.route("/health", healthRoute(deps));
  app.use("/v1/*", apiKeyAuth(deps.keys));
  app.route("/v1", chatRoute(deps));
  app.route("/v1", embeddingsRoute(deps));
  app.route("/v1", modelsRoute(deps));
  return app;
}
