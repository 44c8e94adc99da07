import { Hono } from "hono";
import type { AppDeps } from "../deps.ts";
import { migrationsDone } from "../db/migrate.ts";
import { adminAuth } from "../http/admin-auth.ts";
import type { AppEnv } from "../http/context.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import { malformedChunkCounts } from "../providers/stream-stats.ts";
import { auditView, databaseStatus, redisView, replicaView, secretView } from "../status/health-views.ts";

const readyTimeoutMs = 2_000;

/**
 * Public: `/health/live` (the process serves), `/health/ready` (it should get traffic) and
 * `/health` (`ok`, `degraded` or `down`, 503 when down) — a status word each, nothing an
 * outsider could map the deployment with. `/health/detailed` takes the admin key: the
 * database nodes (by role, without hosts or error text), each provider breaker and
 * cool-down, skipped stream chunks, GPU lifecycle counts, the usage recorder's counts, the
 * audit writer's backlog and journal, Redis (with REDIS_URL) and each secret reference's freshness.
 */
export function healthRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", (c) => {
      const status = databaseStatus(deps.db.health());
      return c.json({ status }, status === "down" ? 503 : 200);
    })
    .get("/live", (c) => c.json({ status: "ok" }))
    .get("/ready", async (c) => {
      if (deps.lifecycle.shuttingDown) return c.json({ status: "shutting_down" }, 503);
      // With the primary down, replicas still serve reads and keys: ready, but degraded.
      const primaryDown = deps.db.health().primary.up === false;
      try {
        const sql = primaryDown ? await deps.db.read() : deps.db.write;
        const migrated = await withTimeout(
          migrationsDone(sql, deps.migrations),
          readyTimeoutMs,
          () => new Error("database check timed out"),
        );
        if (!migrated) {
          deps.logger.warn("not ready: migrations pending");
          return c.json({ status: "not_ready" }, 503);
        }
        return c.json({ status: primaryDown ? "degraded" : "ready" });
      } catch (error) {
        deps.logger.warn("readiness check failed", { error });
        return c.json({ status: "not_ready" }, 503);
      }
    })
    .get("/detailed", adminAuth({ adminKey: deps.admin.key, failures: deps.authFailures }), (c) => {
      const health = deps.db.health();
      const status = databaseStatus(health);
      const body = {
        status,
        database: {
          mode: health.mode,
          reads: health.reads,
          primary: { up: health.primary.up, lsn: health.primary.lsn, checked_at: health.primary.checkedAt },
          replicas: health.replicas.map(replicaView),
        },
        breakers: deps.router.breakers.list().map(({ id, state }) => ({ id, status: state.status, forced: state.forced })),
        cool_downs: deps.router.coolDowns
          .list(deps.router.now())
          .map(({ key, until }) => ({ target: key, until: new Date(until).toISOString() })),
        // Stream chunks each provider sent that could not be read and were skipped, since start.
        malformed_stream_chunks: malformedChunkCounts(),
        // GPU lifecycle since start: orphans destroyed or adopted, instances given up, destroys, sweeps.
        ...(deps.gpu ? { gpu: deps.gpu.health() } : {}),
        // Usage rows waiting, dropped while Postgres was away, and set aside as unwritable.
        usage: deps.usage.stats(),
        audit: auditView(deps.audit.stats()),
        ...(deps.redisHealth ? { redis: redisView(deps.redisHealth()) } : {}),
        ...(deps.secretsFreshness ? { secrets: deps.secretsFreshness().map(secretView) } : {}),
      };
      return c.json(body, status === "down" ? 503 : 200, { "cache-control": "no-store" });
    });
}
