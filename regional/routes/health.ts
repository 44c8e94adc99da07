import { Hono } from "hono";
import type { AppDeps } from "../app.ts";
import { migrationsDone } from "../db/migrate.ts";
import type { AppEnv } from "../http/context.ts";

const readyTimeoutMs = 2_000;

/** Liveness says the process serves; readiness says it should get traffic. */
export function healthRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/live", (c) => c.json({ status: "ok" }))
    .get("/ready", async (c) => {
      if (deps.lifecycle.shuttingDown) return c.json({ status: "shutting_down" }, 503);
      try {
        const check = migrationsDone(deps.db.write, deps.migrations);
        const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("database check timed out")), readyTimeoutMs).unref());
        const migrated = await Promise.race([check, timeout]);
        if (!migrated) return c.json({ status: "not_ready", database: "ok", migrations: "pending" }, 503);
        return c.json({ status: "ready", database: "ok", migrations: "done" });
      } catch (error) {
        deps.logger.warn("readiness check failed", { error });
        return c.json({ status: "not_ready", database: "unreachable" }, 503);
      }
    });
}
