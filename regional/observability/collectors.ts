import { Counter, Gauge, type Registry } from "prom-client";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import type { AuditLog } from "../audit/writer.ts";
import type { Db } from "../db/index.ts";
import { readNode, type ReadReason } from "../db/read-counts.ts";
import { countLive, liveStatuses } from "../gpu/instance-store.ts";
import type { GpuService } from "../gpu/service.ts";
import { malformedChunkCounts } from "../providers/stream-stats.ts";
import type { Router } from "../routing/router.ts";
import type { UsageRecorder } from "../usage/recorder.ts";

/** The services whose state the gauges read at scrape time. */
export interface ScrapeSources {
  router: Pick<Router, "breakers" | "coolDowns" | "now" | "retryBudgets">;
  db: Pick<Db, "health" | "readCounts" | "read" | "pools">;
  audit: Pick<AuditLog, "stats">;
  usage: Pick<UsageRecorder, "stats">;
  gpu?: Pick<GpuService, "health">;
}

/** A scrape never waits long on the database for a count. */
const countTimeoutMs = 1_000;

/**
 * Gauges and counters whose values live in the services (breakers, cool-downs, retry budgets,
 * database nodes, audit and usage backlogs, GPU instances): each reads its source in prom-client's
 * `collect()` when scraped, so nothing runs between scrapes and the request path pays nothing.
 * Counters the services already keep as plain numbers are copied in as they stand.
 */
export function defineCollectors(registry: Registry, sources: () => ScrapeSources | undefined): void {
  const registers = [registry];
  /** Each collector runs only once the services are watched. */
  const reading = <T>(read: (from: ScrapeSources, metric: T) => void | Promise<void>) =>
    async function collect(this: T): Promise<void> {
      const from = sources();
      if (from) await read(from, this);
    };

  new Gauge({
    name: "breakwater_circuit_breakers_open",
    help: "Circuit breakers open now (forced open included; an operator's force moves the state).",
    registers,
    collect: reading<Gauge>(({ router }, gauge) => {
      gauge.set(router.breakers.list().filter(({ state }) => state.status === "open").length);
    }),
  });
  new Gauge({
    name: "breakwater_circuit_breaker_state",
    help: "1 for each breaker's current state (closed, open, half_open); breaker is a provider or provider/model.",
    labelNames: ["breaker", "state"],
    registers,
    collect: reading<Gauge<"breaker" | "state">>(({ router }, gauge) => {
      gauge.reset();
      for (const { id, state } of router.breakers.list()) {
        for (const name of ["closed", "open", "half_open"] as const) gauge.set({ breaker: id, state: name }, name === state.status ? 1 : 0);
      }
    }),
  });
  new Gauge({
    name: "breakwater_cool_downs_active",
    help: "Targets cooling down after a 429 with Retry-After (or an account refusal) now.",
    registers,
    collect: reading<Gauge>(({ router }, gauge) => gauge.set(router.coolDowns.list(router.now()).length)),
  });
  new Gauge({
    name: "breakwater_retry_budget_remaining",
    help: "Retries after provider faults each provider's retry budget allows now.",
    labelNames: ["provider"],
    registers,
    collect: reading<Gauge<"provider">>(({ router }, gauge) => {
      gauge.reset();
      for (const { provider, remaining } of router.retryBudgets()) gauge.set({ provider }, remaining);
    }),
  });

  new Gauge({
    name: "breakwater_db_node_up",
    help: "1 when the last check reached the database node (primary, replica-N), 0 when it did not.",
    labelNames: ["node"],
    registers,
    collect: reading<Gauge<"node">>(({ db }, gauge) => {
      gauge.reset();
      const { primary, replicas } = db.health();
      if (primary.up !== null) gauge.set({ node: "primary" }, primary.up ? 1 : 0);
      // Replicas by their place in DATABASE_REPLICA_URLS, never their hosts (as in /health/detailed).
      replicas.forEach((replica, index) => {
        if (replica.up !== null) gauge.set({ node: `replica-${index + 1}` }, replica.up ? 1 : 0);
      });
    }),
  });
  new Gauge({
    name: "breakwater_db_replica_lag_seconds",
    help: "How far each replica's replay is behind the primary, in time.",
    labelNames: ["replica"],
    registers,
    collect: reading<Gauge<"replica">>(({ db }, gauge) => {
      gauge.reset();
      db.health().replicas.forEach((replica, index) => {
        if (replica.lagMs !== null) gauge.set({ replica: `replica-${index + 1}` }, replica.lagMs / 1000);
      });
    }),
  });
  new Gauge({
    name: "breakwater_db_replica_lag_bytes",
    help: "How far each replica's replay is behind the primary, in WAL bytes.",
    labelNames: ["replica"],
    registers,
    collect: reading<Gauge<"replica">>(({ db }, gauge) => {
      gauge.reset();
      db.health().replicas.forEach((replica, index) => {
        if (replica.lagBytes !== null) gauge.set({ replica: `replica-${index + 1}` }, replica.lagBytes);
      });
    }),
  });
  new Gauge({
    name: "breakwater_db_pool_connections",
    help: "Each database node's pool connections by state: busy (running queries, pipelined), idle, connecting, reserved; max is the pool's size.",
    labelNames: ["node", "state"],
    registers,
    collect: reading<Gauge<"node" | "state">>(({ db }, gauge) => {
      gauge.reset();
      for (const { node, busy, idle, connecting, reserved, max } of db.pools()) {
        for (const [state, count] of Object.entries({ busy, idle, connecting, reserved, max })) gauge.set({ node, state }, count);
      }
    }),
  });
  new Gauge({
    name: "breakwater_db_pool_waiting_queries",
    help: "Queries waiting for a connection of each database node's pool (every connection full or still connecting).",
    labelNames: ["node"],
    registers,
    collect: reading<Gauge<"node">>(({ db }, gauge) => {
      gauge.reset();
      for (const { node, waiting } of db.pools()) gauge.set({ node }, waiting);
    }),
  });
  new Counter({
    name: "breakwater_db_reads_total",
    help: "Reads handed a database node, by node (primary, replica) and why (read_your_writes: the replica had not replayed the tenant's last write).",
    labelNames: ["node", "reason"],
    registers,
    collect: reading<Counter<"node" | "reason">>(({ db }, counter) => {
      counter.reset();
      for (const [reason, count] of Object.entries(db.readCounts()) as Array<[ReadReason, number]>)
        if (count > 0) counter.inc({ node: readNode[reason], reason }, count);
    }),
  });

  new Gauge({
    name: "breakwater_audit_backlog_events",
    help: "Audit events not yet in Postgres: queued in memory plus journaled on local disk.",
    registers,
    collect: reading<Gauge>(({ audit }, gauge) => {
      const { queued, journaled } = audit.stats();
      gauge.set(queued + journaled);
    }),
  });
  new Gauge({
    name: "breakwater_audit_journal_bytes",
    help: "Size of the local audit journal waiting to be replayed into Postgres.",
    registers,
    collect: reading<Gauge>(({ audit }, gauge) => gauge.set(audit.stats().journalBytes)),
  });
  new Gauge({
    name: "breakwater_audit_writer_failing",
    help: "1 while the audit writer cannot reach Postgres (events go to the journal).",
    registers,
    collect: reading<Gauge>(({ audit }, gauge) => gauge.set(audit.stats().failing ? 1 : 0)),
  });
  new Gauge({
    name: "breakwater_audit_last_flush_timestamp_seconds",
    help: "When audit events were last committed to Postgres (Unix time); 0 before the first.",
    registers,
    collect: reading<Gauge>(({ audit }, gauge) => {
      gauge.reset();
      const { lastFlushAt } = audit.stats();
      if (lastFlushAt !== null) gauge.set(lastFlushAt / 1000);
    }),
  });
  new Gauge({
    name: "breakwater_usage_queued_rows",
    help: "Usage rows waiting to be written to Postgres.",
    registers,
    collect: reading<Gauge>(({ usage }, gauge) => gauge.set(usage.stats().queued)),
  });
  new Counter({
    name: "breakwater_usage_dropped_rows_total",
    help: "Usage rows dropped because Postgres was away longer than the queue holds.",
    registers,
    collect: reading<Counter>(({ usage }, counter) => {
      counter.reset();
      counter.inc(usage.stats().dropped);
    }),
  });
  new Counter({
    name: "breakwater_usage_set_aside_rows_total",
    help: "Usage rows Postgres refused repeatedly (a value it cannot store), logged and left out.",
    registers,
    collect: reading<Counter>(({ usage }, counter) => {
      counter.reset();
      counter.inc(usage.stats().setAside);
    }),
  });
  new Counter({
    name: "breakwater_stream_malformed_chunks_total",
    help: "Stream chunks a provider sent that could not be read and were skipped.",
    labelNames: ["provider"],
    registers,
    collect: reading<Counter<"provider">>((_, counter) => {
      counter.reset();
      for (const [provider, count] of Object.entries(malformedChunkCounts())) counter.inc({ provider }, count);
    }),
  });

  new Gauge({
    name: "breakwater_gpu_instances",
    help: "GPU instances in each live state (those that may still bill), counted in the database at scrape time.",
    labelNames: ["state"],
    registers,
    collect: reading<Gauge<"state">>(async ({ db, gpu }, gauge) => {
      gauge.reset();
      if (!gpu) return;
      try {
        const rows = await withTimeout(
          db.read().then((sql) => countLive(sql)),
          countTimeoutMs,
          () => new Error("GPU instance count timed out"),
        );
        for (const state of liveStatuses) gauge.set({ state }, rows.find((row) => row.status === state)?.count ?? 0);
      } catch {
        // No answer in time: the scrape goes on without this gauge rather than failing whole.
      }
    }),
  });
  new Counter({
    name: "breakwater_gpu_lifecycle_events_total",
    help: "GPU lifecycle events since start: orphans destroyed or adopted, instances given up, destroys confirmed or failed, sweeps.",
    labelNames: ["event"],
    registers,
    collect: reading<Counter<"event">>(({ gpu }, counter) => {
      counter.reset();
      if (!gpu) return;
      const { cooling_down: _coolingDown, ...counts } = gpu.health();
      for (const [event, count] of Object.entries(counts)) counter.inc({ event }, count);
    }),
  });
}
