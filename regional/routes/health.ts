import { Hono } from "hono";
import type { AppDeps } from "../app.ts";
import type { DbHealth } from "../db/index.ts";
import { migrationsDone } from "../db/migrate.ts";
import type { ReplicaHealth } from "../db/replicas.ts";
import type { AppEnv } from "../http/context.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import { malformedChunkCounts } from "../providers/stream-stats.ts";

const readyTimeoutMs = 2_000;

/** `ok`; `degraded` while the primary is down but replicas serve reads (writes answer 503); `down` when nothing serves. */
function databaseStatus(health: DbHealth): "ok" | "degraded" | "down" {
  if (health.primary.up !== false) return "ok";
  return health.replicas.some((replica) => replica.up) ? "degraded" : "down";
}

function replicaView(replica: ReplicaHealth) {
  return {
    name: replica.name,
    up: replica.up,
    replay_lsn: replica.lsn,
    lag_ms: replica.lagMs,
    lag_bytes: replica.lagBytes,
    in_rotation: replica.inRotation,
    reason: replica.reason,
    checked_at: replica.checkedAt,
    error: replica.error,
  };
}

/**
 * Liveness says the process serves; readiness says it should get traffic; `/health` says
 * what the database looks like and each provider breaker's state (an open one is a
 * provider down, not this service: it does not change the status).
 */
export function healthRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", (c) => {
      const health = deps.db.health();
      const status = databaseStatus(health);
      const body = {
        status,
        database: {
          mode: health.mode,
          reads: health.reads,
          primary: { name: health.primary.name, up: health.primary.up, lsn: health.primary.lsn, checked_at: health.primary.checkedAt, error: health.primary.error },
          replicas: health.replicas.map(replicaView),
        },
        breakers: deps.router.breakers.list().map(({ id, state }) => ({ id, status: state.status, forced: state.forced })),
        cool_downs: deps.router.coolDowns.list(deps.router.now()).map(({ key, until }) => ({ target: key, until: new Date(until).toISOString() })),
        // Stream chunks each provider sent that could not be read and were skipped, since start.
        malformed_stream_chunks: malformedChunkCounts(),
        // GPU lifecycle since start: orphans destroyed or adopted, instances given up, destroys, sweeps.
        ...(deps.gpu ? { gpu: deps.gpu.health() } : {}),
      };
      return c.json(body, status === "down" ? 503 : 200);
    })
    .get("/live", (c) => c.json({ status: "ok" }))
    .get("/ready", async (c) => {
      if (deps.lifecycle.shuttingDown) return c.json({ status: "shutting_down" }, 503);
      // With the primary down, replicas still serve reads and keys: ready, but degraded.
      const primaryDown = deps.db.health().primary.up === false;
      try {
        const sql = primaryDown ? await deps.db.read() : deps.db.write;
        const migrated = await withTimeout(migrationsDone(sql, deps.migrations), readyTimeoutMs, () => new Error("database check timed out"));
        if (!migrated) return c.json({ status: "not_ready", database: "ok", migrations: "pending" }, 503);
        if (primaryDown) return c.json({ status: "degraded", database: "primary_down", migrations: "done" });
        return c.json({ status: "ready", database: "ok", migrations: "done" });
      } catch (error) {
        deps.logger.warn("readiness check failed", { error });
        return c.json({ status: "not_ready", database: "unreachable" }, 503);
      }
    });
}
