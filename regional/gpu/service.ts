import type { CreateGpuInstanceRequest, GpuInstance, GpuOfferList, GpuOfferQuery, GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { AuditLog } from "../audit/writer.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { GpuContext } from "./context.ts";
import { createGpuCounters, type GpuCounts } from "./counters.ts";
import type { Guard } from "./guard.ts";
import { instanceView, selectInstance, selectInstances, selectLive, selectTransitions } from "./instance-store.ts";
import type { Marketplace } from "./marketplace.ts";
import { searchOffers } from "./offers.ts";
import { createProvisioning, type CreateOutcome } from "./provisioning.ts";
import { createRefresher } from "./refresh.ts";
import { isTerminal, moveInstance } from "./state-machine.ts";
import { createSweeper, type SweepReport } from "./sweep.ts";

export type { CreateOutcome } from "./provisioning.ts";

export interface GpuServiceOptions {
  db: Db;
  logger: Logger;
  marketplaces: Marketplace[];
  guard: Guard;
  /** Orphans destroyed or adopted and instances given up are audited here. */
  audit?: Pick<AuditLog, "append">;
  /** This service's region, part of every label (default `local`). */
  region?: string;
  /** How long a key is remembered, and how long a duplicate waits for the first request's answer. */
  idempotency?: { ttlMs: number; waitMs: number; pollMs: number };
  /** Deadline of a create call; past it, the create is reconciled, not repeated. */
  createTimeoutMs?: number;
  /** Look-ups by label after an ambiguous create, and the pause between them. */
  reconcile?: { lookups: number; delayMs: number };
  /** A pending instance no marketplace was asked about this long ago lost its create (a crash): it is looked for by label. */
  stalePendingMs?: number;
  /** Degraded or stopped this long, an instance is given up and destroyed (default 30 min; 0 never). */
  giveUpAfterMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What `/health` shows of the GPU lifecycle (and Prometheus will read). */
export interface GpuHealth extends GpuCounts {
  cooling_down: Array<{ provider: string; until: string; reason: string }>;
}

export interface GpuService {
  offers(query: GpuOfferQuery, requestId: string, signal: AbortSignal): Promise<GpuOfferList>;
  create(tenantId: string, key: string, hash: string, request: CreateGpuInstanceRequest, requestId: string): Promise<CreateOutcome>;
  list(tenantId: string, limit: number): Promise<GpuInstance[]>;
  /** The instance with its transitions, its status first refreshed from the marketplace. */
  get(tenantId: string, id: string, requestId: string): Promise<GpuInstance>;
  /** Moves it to terminating and destroys it; answered terminating when the marketplace has not confirmed yet (the poller goes on). */
  remove(tenantId: string, id: string, requestId: string): Promise<{ instance: GpuInstance; provider: GpuProvider | null }>;
  /** Refreshes the instances not yet at an end, least recently checked first, across tenants (the poller). */
  refreshActive(limit: number): Promise<number>;
  /** Reconciles each marketplace's labelled instances with the database (the sweeper). */
  sweep(): Promise<SweepReport[]>;
  /** Counts since start and marketplaces cooling down: small, synchronous, for `/health` and metrics. */
  health(): GpuHealth;
}

const notFound = (id: string) => new GatewayError("not_found", { message: `No GPU instance '${id}'.` });

/**
 * The GPU compute API's behaviour, composed from its parts: offers across marketplaces;
 * provisioning (once per Idempotency-Key, fallback, lost answers reconciled); refresh (states
 * kept true, give-ups and destroys until confirmed); the sweep (orphans destroyed or adopted).
 */
export function createGpuService(options: GpuServiceOptions): GpuService {
  const createTimeoutMs = options.createTimeoutMs ?? 30_000;
  const counters = createGpuCounters();
  const context: GpuContext = {
    db: options.db,
    logger: options.logger,
    guard: options.guard,
    marketplaces: options.marketplaces,
    byName: new Map(options.marketplaces.map((marketplace) => [marketplace.name, marketplace])),
    audit: options.audit,
    counters,
    region: options.region ?? "local",
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    detached: new AbortController().signal,
    stalePendingMs: options.stalePendingMs ?? Math.max(5 * 60_000, 4 * createTimeoutMs),
    giveUpAfterMs: options.giveUpAfterMs ?? 30 * 60_000,
    sweepTimeoutMs: 180_000,
  };
  const provisioning = createProvisioning(context, {
    idempotency: options.idempotency ?? { ttlMs: 24 * 3_600_000, waitMs: 10_000, pollMs: 50 },
    createTimeoutMs,
    reconcile: options.reconcile ?? { lookups: 3, delayMs: 1_000 },
    defaultHttpPort: 8000,
  });
  const refresher = createRefresher(context);
  const sweeper = createSweeper(context);
  const { db } = context;

  return {
    offers: (query, requestId, signal) => searchOffers(context.marketplaces, context.guard, query, requestId, signal),

    create: (tenantId, key, hash, request, requestId) => provisioning.create(tenantId, key, hash, request, requestId),

    async list(tenantId, limit) {
      return (await selectInstances(await db.read(tenantId), tenantId, limit)).map((row) => instanceView(row));
    },

    async get(tenantId, id, requestId) {
      const row = await selectInstance(await db.read(tenantId), tenantId, id);
      if (!row) throw notFound(id);
      const current = await refresher.refresh(row, requestId);
      return instanceView(current, await selectTransitions(await db.read(tenantId), tenantId, id));
    },

    async remove(tenantId, id, requestId) {
      let row = await selectInstance(await db.read(tenantId), tenantId, id);
      if (!row) throw notFound(id);
      if (row.status === "pending")
        throw new GatewayError("conflict", {
          message: "The instance is still being created; delete it once it is provisioning.",
          retryAfterS: 1,
        });
      if (!isTerminal(row.status) && row.provider_instance_id !== null) {
        if (row.status !== "terminating") {
          const current = row;
          row = await db
            .transaction(tenantId, (tx) => moveInstance(tx, tenantId, current.id, "terminating", "deletion requested"))
            // Moved meanwhile (the marketplace ended it): what it is now stands.
            .catch(async (error: unknown) => {
              if (error instanceof GatewayError && error.code === "conflict")
                return (await selectInstance(db.write, tenantId, id)) ?? current;
              throw error;
            });
        }
        row = await refresher.confirmDestroy(row, requestId, { lookFirst: false });
      }
      return { instance: instanceView(row, await selectTransitions(await db.read(tenantId), tenantId, id)), provider: row.provider };
    },

    async refreshActive(limit) {
      const rows = await selectLive(db.write, limit);
      for (const row of rows) await refresher.refresh(row, `poller-${row.id}`);
      return rows.length;
    },

    sweep: () => sweeper.sweep(`sweep-${context.now()}`),

    health: () => ({ ...counters.snapshot(), cooling_down: context.guard.coolingDown() }),
  };
}
