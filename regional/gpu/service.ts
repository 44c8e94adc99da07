import { randomUUID } from "node:crypto";
import type { CreateGpuInstanceRequest, GpuInstance, GpuOffer, GpuOfferList, GpuOfferQuery, GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { Guard } from "./guard.ts";
import { awaitKey, claimKey, completeKey, releaseKey, settleKeyOf, type StoredResponse } from "./idempotency.ts";
import { insertPendingInstance, instanceView, selectInstance, selectInstances, selectTransitions, type InstanceRow } from "./instance-store.ts";
import type { Marketplace, ProviderInstance } from "./marketplace.ts";
import { failureOf, searchOffers } from "./offers.ts";
import { definitelyRefused } from "./provider-errors.ts";
import { canMove, isTerminal, moveInstance } from "./state-machine.ts";

export interface GpuServiceOptions {
  db: Db;
  logger: Logger;
  marketplaces: Marketplace[];
  guard: Guard;
  /** How long a key is remembered, and how long a duplicate waits for the first request's answer. */
  idempotency?: { ttlMs: number; waitMs: number; pollMs: number };
  /** Deadline of a create call; past it, the create is reconciled, not repeated. */
  createTimeoutMs?: number;
  /** Look-ups by label after an ambiguous create, and the pause between them. */
  reconcile?: { lookups: number; delayMs: number };
  /** A pending instance no marketplace was asked about this long ago lost its create (a crash): it is looked for by label. */
  stalePendingMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CreateOutcome {
  response: StoredResponse;
  /** True when the answer is the stored one of an earlier request with the same key. */
  replayed: boolean;
}

export interface GpuService {
  offers(query: GpuOfferQuery, requestId: string, signal: AbortSignal): Promise<GpuOfferList>;
  create(tenantId: string, key: string, hash: string, request: CreateGpuInstanceRequest, requestId: string): Promise<CreateOutcome>;
  list(tenantId: string, limit: number): Promise<GpuInstance[]>;
  /** The instance with its transitions, its status first refreshed from the marketplace. */
  get(tenantId: string, id: string, requestId: string): Promise<GpuInstance>;
  remove(tenantId: string, id: string, requestId: string): Promise<{ instance: GpuInstance; provider: GpuProvider | null }>;
  /** Refreshes the instances not yet at an end, oldest update first, across tenants (the poller). */
  refreshActive(limit: number): Promise<number>;
}

interface Candidate {
  marketplace: Marketplace;
  offer: GpuOffer;
}

const notFound = (id: string) => new GatewayError("not_found", { message: `No GPU instance '${id}'.` });

/**
 * The GPU compute API's behaviour: offers across marketplaces; creates that happen once per
 * Idempotency-Key, fall back to the other marketplace and reconcile (never repeat) a create
 * whose answer was lost; status refreshed from the marketplace; delete through terminating.
 */
export function createGpuService(options: GpuServiceOptions): GpuService {
  const { db, logger, guard } = options;
  const idempotency = options.idempotency ?? { ttlMs: 24 * 3_600_000, waitMs: 10_000, pollMs: 50 };
  const createTimeoutMs = options.createTimeoutMs ?? 30_000;
  const reconcileSettings = options.reconcile ?? { lookups: 3, delayMs: 1_000 };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const stalePendingMs = options.stalePendingMs ?? Math.max(5 * 60_000, 4 * createTimeoutMs);
  const byName = new Map(options.marketplaces.map((marketplace) => [marketplace.name, marketplace]));
  // A create, once started, runs to its end even if the client leaves: it is what keeps one instance per key.
  const detached = new AbortController().signal;

  async function candidatesFor(request: CreateGpuInstanceRequest, requestId: string, notes: string[]): Promise<Candidate[]> {
    const pinned = request.offer_id?.split(":")[0] ?? request.provider;
    const chosen = options.marketplaces.filter((marketplace) => pinned === undefined || marketplace.name === pinned);
    const query: GpuOfferQuery = request.offer_id
      ? { limit: Number.POSITIVE_INFINITY }
      : { gpu_model: request.gpu_model, gpu_count: request.gpu_count, max_price_per_hour: request.max_price_per_hour, region: request.region, limit: Number.POSITIVE_INFINITY };
    if (chosen.length === 0) throw new GatewayError("unavailable", { message: `No GPU marketplace could be searched: ${pinned} is not configured.`, retryAfterS: 5 });
    // Every chosen marketplace at once; throws 503 when none could be searched.
    const list = await searchOffers(chosen, guard, query, requestId, detached);
    for (const failure of list.failed_providers) notes.push(`${failure.provider} search: ${failure.message}`);
    const found: Candidate[] = [];
    for (const marketplace of chosen) {
      const offers = list.data.filter((candidate) => candidate.provider === marketplace.name);
      const offer = request.offer_id ? offers.find((candidate) => candidate.id === request.offer_id) : offers[0];
      if (offer) found.push({ marketplace, offer });
    }
    if (request.offer_id && found[0] && found[0].offer.price_per_hour > request.max_price_per_hour) {
      throw new GatewayError("invalid_request", { message: `Offer ${request.offer_id} costs ${found[0].offer.price_per_hour}/h, above max_price_per_hour.`, param: "max_price_per_hour" });
    }
    return found.sort((a, b) => a.offer.price_per_hour - b.offer.price_per_hour);
  }

  /** After an ambiguous create: the instance by its label, undefined if surely absent, "unknown" if no look-up answered. */
  async function reconcile(marketplace: Marketplace, label: string, requestId: string): Promise<ProviderInstance | undefined | "unknown"> {
    let answered = false;
    for (let lookup = 1; lookup <= reconcileSettings.lookups; lookup++) {
      try {
        const found = await guard.retried(marketplace.name, requestId, detached, (context) => marketplace.findByLabel(label, context));
        if (found) return found;
        answered = true;
      } catch (error) {
        logger.warn("gpu reconcile look-up failed", { provider: marketplace.name, label, error });
      }
      if (lookup < reconcileSettings.lookups) await sleep(reconcileSettings.delayMs);
    }
    return answered ? undefined : "unknown";
  }

  async function adopt(tenantId: string, key: string, id: string, provider: GpuProvider, providerInstanceId: string, offer: GpuOffer, reason: string, calls: number): Promise<StoredResponse> {
    return await db.transaction(tenantId, async (tx) => {
      const row = await moveInstance(tx, tenantId, id, "provisioning", reason, { provider, providerInstanceId, offer });
      const response = { status: 201, body: instanceView(row, await selectTransitions(tx, tenantId, id)), headers: { "x-breakwater-provider": provider, "x-breakwater-attempts": String(calls) } };
      await completeKey(tx, tenantId, key, response);
      return response;
    });
  }

  /** Nothing was rented. A failure worth retrying frees the key; any other is the key's answer. */
  async function fail(tenantId: string, key: string, id: string, error: GatewayError, requestId: string): Promise<StoredResponse> {
    const retryable = error.status >= 500 || error.status === 429 || error.status === 409;
    const response = { status: error.status, body: error.toBody(requestId), headers: {} };
    await db.transaction(tenantId, async (tx) => {
      await moveInstance(tx, tenantId, id, "failed", error.message, { failure: error.message });
      if (retryable) await releaseKey(tx, tenantId, key);
      else await completeKey(tx, tenantId, key, response);
    });
    if (retryable) throw error;
    return response;
  }

  /** The create's answer was lost and no look-up answered: the instance stays pending, to be reconciled on read. */
  async function leavePending(tenantId: string, key: string, id: string, provider: GpuProvider, offer: GpuOffer, calls: number): Promise<StoredResponse> {
    return await db.transaction(tenantId, async (tx) => {
      const [row] = await tx<InstanceRow[]>`update gpu_instances set provider = ${provider}, offer = ${JSON.stringify(offer)}::text::jsonb, updated_at = now() where id = ${id} and tenant_id = ${tenantId} returning *`;
      if (!row) throw notFound(id);
      const response = { status: 202, body: instanceView(row, await selectTransitions(tx, tenantId, id)), headers: { "x-breakwater-provider": provider, "x-breakwater-attempts": String(calls) } };
      await completeKey(tx, tenantId, key, response);
      return response;
    });
  }

  async function provision(tenantId: string, key: string, id: string, request: CreateGpuInstanceRequest, requestId: string): Promise<StoredResponse> {
    const notes: string[] = [];
    let candidates: Candidate[];
    try {
      candidates = await candidatesFor(request, requestId, notes);
    } catch (error) {
      return await fail(tenantId, key, id, error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error }), requestId);
    }
    if (candidates.length === 0) {
      const what = request.offer_id ? `offer ${request.offer_id}` : `${request.gpu_count} × ${request.gpu_model} at ≤ ${request.max_price_per_hour}/h${request.region ? ` in ${request.region}` : ""}`;
      return await fail(tenantId, key, id, new GatewayError("not_found", { message: `No GPU offer matches ${what}.${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`, param: request.offer_id ? "offer_id" : "gpu_model" }), requestId);
    }
    let calls = 0;
    let onlyRefusals = true;
    let last: GatewayError | undefined;
    for (const { marketplace, offer } of candidates) {
      const spec = { offer, label: id, image: request.image, diskGb: request.disk_gb, durationHours: request.duration_hours, env: request.env ?? {} };
      calls += 1;
      try {
        const created = await guard.once(marketplace.name, requestId, detached, (context) => marketplace.create(spec, context), createTimeoutMs);
        return await adopt(tenantId, key, id, marketplace.name, created.providerInstanceId, offer, `created at ${marketplace.name}`, calls);
      } catch (error) {
        const failure = error instanceof GatewayError ? error : new GatewayError("upstream_error", { message: failureOf(error).message, cause: error });
        last = failure;
        if (failure.code === "circuit_open" || definitelyRefused(failure)) {
          onlyRefusals &&= failure.code !== "circuit_open" && failure.status < 500 && failure.status !== 429;
          notes.push(`${marketplace.name}: ${failure.message}`);
          continue;
        }
        // The create may have reached the marketplace: look for it before going anywhere else.
        onlyRefusals = false;
        const found = await reconcile(marketplace, id, requestId);
        if (found === "unknown") return await leavePending(tenantId, key, id, marketplace.name, offer, calls);
        if (found) return await adopt(tenantId, key, id, marketplace.name, found.providerInstanceId, offer, `adopted from ${marketplace.name} by label after: ${failure.message}`, calls);
        notes.push(`${marketplace.name}: ${failure.message} (not found by label)`);
      }
    }
    logger.warn("gpu create failed at every marketplace", { requestId, instance: id, attempts: notes });
    const error = onlyRefusals && last ? last : new GatewayError("unavailable", { message: `No GPU marketplace could create the instance: ${notes.join("; ")}`, retryAfterS: 5 });
    return await fail(tenantId, key, id, error, requestId);
  }

  async function move(row: InstanceRow, to: InstanceRow["status"], reason: string, changes: Parameters<typeof moveInstance>[5] = {}): Promise<InstanceRow> {
    try {
      return await db.transaction(row.tenant_id, (tx) => moveInstance(tx, row.tenant_id, row.id, to, reason, changes));
    } catch (error) {
      // Someone else moved it first; theirs stands.
      if (error instanceof GatewayError && error.code === "conflict") return (await selectInstance(db.write, row.tenant_id, row.id)) ?? row;
      throw error;
    }
  }

  /**
   * A create that never finished (its process died between claiming the key and hearing
   * back): adopt what a marketplace has under the label, or fail it once all say they have none.
   */
  async function resolveStalePending(row: InstanceRow, requestId: string): Promise<InstanceRow> {
    let answered = 0;
    for (const marketplace of options.marketplaces) {
      try {
        const found = await guard.retried(marketplace.name, requestId, detached, (context) => marketplace.findByLabel(row.id, context));
        answered += 1;
        if (!found) continue;
        return await db.transaction(row.tenant_id, async (tx) => {
          const moved = await moveInstance(tx, row.tenant_id, row.id, "provisioning", `found at ${marketplace.name} by label after an interrupted create`, { provider: marketplace.name, providerInstanceId: found.providerInstanceId });
          await settleKeyOf(tx, row.tenant_id, row.id, { status: 201, body: instanceView(moved, await selectTransitions(tx, row.tenant_id, row.id)), headers: { "x-breakwater-provider": marketplace.name, "x-breakwater-attempts": "1" } });
          return moved;
        });
      } catch (error) {
        logger.warn("gpu look-up of an interrupted create failed", { requestId, instance: row.id, provider: marketplace.name, error });
      }
    }
    if (answered < options.marketplaces.length) return row;
    const failure = "the create was interrupted and no marketplace has the instance";
    return await db.transaction(row.tenant_id, async (tx) => {
      const moved = await moveInstance(tx, row.tenant_id, row.id, "failed", failure, { failure });
      await settleKeyOf(tx, row.tenant_id, row.id, "release");
      return moved;
    });
  }

  async function refresh(row: InstanceRow, requestId: string): Promise<InstanceRow> {
    if (row.status === "pending" && row.provider === null) {
      return now() - row.updated_at.getTime() < stalePendingMs ? row : await resolveStalePending(row, requestId);
    }
    const marketplace = row.provider ? byName.get(row.provider) : undefined;
    if (isTerminal(row.status) || !marketplace) return row;
    try {
      if (row.provider_instance_id === null) {
        if (row.status !== "pending") return row;
        const found = await guard.retried(marketplace.name, requestId, detached, (context) => marketplace.findByLabel(row.id, context));
        return found ? await move(row, "provisioning", `adopted from ${marketplace.name} by label`, { providerInstanceId: found.providerInstanceId }) : row;
      }
      const providerId = row.provider_instance_id;
      const seen = await guard.once(marketplace.name, requestId, detached, (context) => marketplace.get(providerId, context));
      if (!seen) return await move(row, row.status === "terminating" ? "terminated" : "failed", `${marketplace.name} no longer knows the instance`, row.status === "terminating" ? {} : { failure: "gone at the provider" });
      if (seen.status === row.status || !canMove(row.status, seen.status)) return row;
      return await move(row, seen.status, `${marketplace.name} reports ${seen.rawStatus}`, seen.status === "failed" ? { failure: `${marketplace.name} reports ${seen.rawStatus}` } : {});
    } catch (error) {
      // A marketplace that cannot answer now leaves the last known status in place.
      logger.warn("gpu status refresh failed", { requestId, instance: row.id, provider: row.provider, error });
      return row;
    }
  }

  return {
    offers: (query, requestId, signal) => searchOffers(options.marketplaces, guard, query, requestId, signal),

    async create(tenantId, key, hash, request, requestId) {
      for (let round = 0; round < 3; round++) {
        const id = randomUUID();
        const claim = await db.transaction(tenantId, async (tx) => {
          const state = await claimKey(tx, tenantId, key, hash, id, idempotency.ttlMs);
          if (state.state === "claimed") await insertPendingInstance(tx, tenantId, id, request);
          return state;
        });
        if (claim.state === "completed") return { response: claim.response, replayed: true };
        if (claim.state === "claimed") return { response: await provision(tenantId, key, id, request, requestId), replayed: false };
        const waited = await awaitKey(db, tenantId, key, hash, { waitMs: idempotency.waitMs, pollMs: idempotency.pollMs, sleep });
        if (waited === "timeout") break;
        if (waited !== "released") return { response: waited, replayed: true };
      }
      throw new GatewayError("conflict", { message: "A request with this Idempotency-Key is still in progress; retry shortly.", param: "Idempotency-Key", retryAfterS: 1 });
    },

    async list(tenantId, limit) {
      return (await selectInstances(await db.read(tenantId), tenantId, limit)).map((row) => instanceView(row));
    },

    async get(tenantId, id, requestId) {
      const row = await selectInstance(await db.read(tenantId), tenantId, id);
      if (!row) throw notFound(id);
      const current = await refresh(row, requestId);
      return instanceView(current, await selectTransitions(await db.read(tenantId), tenantId, id));
    },

    async remove(tenantId, id, requestId) {
      let row = await selectInstance(await db.read(tenantId), tenantId, id);
      if (!row) throw notFound(id);
      if (row.status === "pending") throw new GatewayError("conflict", { message: "The instance is still being created; delete it once it is provisioning.", retryAfterS: 1 });
      const marketplace = row.provider ? byName.get(row.provider) : undefined;
      if (!isTerminal(row.status) && marketplace && row.provider_instance_id) {
        const providerId = row.provider_instance_id;
        row = await move(row, "terminating", "deletion requested");
        if (row.status === "terminating") {
          await guard.retried(marketplace.name, requestId, detached, (context) => marketplace.destroy(providerId, context));
          row = await move(row, "terminated", `destroyed at ${marketplace.name}`);
        }
      }
      return { instance: instanceView(row, await selectTransitions(await db.read(tenantId), tenantId, id)), provider: row.provider };
    },

    async refreshActive(limit) {
      const rows = await (await db.read())<InstanceRow[]>`
        select * from gpu_instances where status in ('pending', 'provisioning', 'running', 'terminating') order by updated_at limit ${limit}`;
      for (const row of rows) await refresh(row, `poller-${row.id}`);
      return rows.length;
    },
  };
}
