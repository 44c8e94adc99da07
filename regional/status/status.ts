import { probesInFlight } from "../../shared/circuit-breaker.ts";
import type { OperatorStatus, PublicStatus } from "../../shared/status/types.ts";
import type { Admission } from "../admission/admitted.ts";
import type { AuditLog } from "../audit/writer.ts";
import type { Db } from "../db/index.ts";
import type { RedisStatus } from "../redis-status.ts";
import type { Router } from "../routing/router.ts";
import type { SecretFreshness } from "../secrets/secrets.ts";
import { auditChainStatus } from "./audit-status.ts";
import { auditView, databaseStatus, redisView, replicaView, secretView } from "./health-views.ts";
import { recentIncidents } from "./incident-history.ts";
import { incidentWindowMs, publicStatus } from "./public-status.ts";

/** What the status is read from: a few of the app's services (see `AppDeps`). */
export interface StatusSources {
  router: Router;
  db: Db;
  audit: AuditLog;
  admission?: Admission;
  redisHealth?: () => Record<string, RedisStatus | null>;
  secretsFreshness?: () => SecretFreshness[];
  now?: () => number;
}

/** The public status: routes and providers, and the last 24 h of incidents (read from a replica when one is in rotation). */
export async function buildPublicStatus(sources: StatusSources): Promise<PublicStatus> {
  const now = (sources.now ?? Date.now)();
  const incidents = await recentIncidents(await sources.db.read(), new Date(now - incidentWindowMs));
  return publicStatus(sources.router, incidents, now);
}

/** The operator status: the public one plus breakers, cool-downs, queues, capacity, stores and the audit chain. */
export async function buildOperatorStatus(sources: StatusSources): Promise<OperatorStatus> {
  const now = (sources.now ?? Date.now)();
  const { router, db, audit } = sources;
  const [status, chain] = await Promise.all([buildPublicStatus(sources), auditChainStatus(db.write, audit.region)]);
  const health = db.health();
  const capacity = router.capacity.snapshot();
  return {
    object: "status.operator",
    generated_at: new Date(now).toISOString(),
    region: audit.region,
    public: status,
    breakers: router.breakers.list().map(({ id, state, policy, transitions }) => ({
      id,
      status: state.status,
      forced: state.forced,
      opened_at: state.openedAt === null ? null : new Date(state.openedAt).toISOString(),
      window: {
        successes: state.buckets.reduce((sum, [, ok]) => sum + ok, 0),
        failures: state.buckets.reduce((sum, [, , failed]) => sum + failed, 0),
        window_ms: policy.windowMs,
      },
      probes: { in_flight: probesInFlight(state, now), max: policy.halfOpenMaxProbes },
      transitions,
    })),
    cool_downs: router.coolDowns.list(router.now()).map(({ key, until }) => ({ target: key, until: new Date(until).toISOString() })),
    // By route, without the tenants waiting in them: the page is a wall screen, not a tenant report.
    queues:
      sources.admission?.queues.snapshot().map((queue) => ({
        queue: queue.name,
        in_flight: queue.inFlight,
        queued: queue.queued,
        shedding: queue.shedding,
        wait_p99_ms: queue.wait.p99Ms,
      })) ?? null,
    capacity: [
      ...capacity.providers.map((p) => ({ name: p.provider, in_flight: p.inFlight, max_concurrent: p.maxConcurrent ?? null })),
      ...capacity.targets.map((t) => ({ name: t.target, in_flight: t.inFlight, max_concurrent: t.maxConcurrent ?? null })),
    ],
    database: {
      status: databaseStatus(health),
      primary: { up: health.primary.up, checked_at: health.primary.checkedAt },
      replicas: health.replicas.map(replicaView),
    },
    redis: sources.redisHealth ? redisView(sources.redisHealth()) : null,
    secrets: sources.secretsFreshness?.().map(secretView) ?? [],
    audit: { ...chain, writer: auditView(audit.stats()) },
  };
}
