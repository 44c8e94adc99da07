import { Hono } from "hono";
import type { QueueSnapshot } from "../../admission/fair-queue.ts";
import type { AdmissionQueues } from "../../admission/queues.ts";
import type { AppEnv } from "../../http/context.ts";

function view(queue: QueueSnapshot) {
  const { policy, wait, totals } = queue;
  return {
    queue: queue.name,
    policy: {
      concurrency: policy.concurrency,
      max_queued: policy.maxQueued,
      max_wait_ms: policy.maxWaitMs,
      target_ms: policy.targetMs,
      interval_ms: policy.intervalMs,
    },
    in_flight: queue.inFlight,
    queued: queue.queued,
    shedding: queue.shedding,
    wait_ms: { p50: wait.p50Ms, p99: wait.p99Ms, ewma: wait.ewmaMs },
    totals: {
      admitted: totals.admitted,
      waited: totals.waited,
      shed_overloaded: totals.shedOverloaded,
      shed_over_share: totals.shedOverShare,
      timed_out: totals.timedOut,
      abandoned: totals.abandoned,
    },
    priorities: Object.fromEntries(
      Object.entries(queue.priorities).map(([priority, lane]) => [priority, { queued: lane.queued, wait_ewma_ms: lane.waitEwmaMs }]),
    ),
    tenants: queue.tenants.map((tenant) => ({
      tenant_id: tenant.tenant,
      in_flight: tenant.inFlight,
      queued: tenant.queued,
      wait_ewma_ms: tenant.waitEwmaMs,
    })),
  };
}

/** `GET /admin/queue`: each route's admission queue — depth, in flight, waits — by priority and tenant. */
export function queueRoute(queues: AdmissionQueues): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/queue", (c) => c.json({ object: "list", data: queues.snapshot().map(view) }));
}
