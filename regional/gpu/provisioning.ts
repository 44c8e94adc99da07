import { randomUUID } from "node:crypto";
import type { CreateGpuInstanceRequest, GpuOffer, GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { GpuContext } from "./context.ts";
import { awaitKey, claimKey, completeKey, releaseKey, type StoredResponse } from "./idempotency.ts";
import { insertPendingInstance, instanceView, selectTransitions, setPendingProvider } from "./instance-store.ts";
import { labelFor } from "./label.ts";
import type { Marketplace, MarketplaceQuery, ProviderInstance } from "./marketplace.ts";
import { failureOf, searchOffers } from "./offers.ts";
import { nothingMade } from "./provider-errors.ts";
import { moveInstance } from "./state-machine.ts";

export interface ProvisioningSettings {
  /** How long a key is remembered, and how long a duplicate waits for the first request's answer. */
  idempotency: { ttlMs: number; waitMs: number; pollMs: number };
  /** Deadline of a create call; past it, the create is reconciled, not repeated. */
  createTimeoutMs: number;
  /** Look-ups by label after an ambiguous create, and the pause between them. */
  reconcile: { lookups: number; delayMs: number };
  /** The container's HTTP port when the request names none (io.net requires one). */
  defaultHttpPort: number;
}

export interface CreateOutcome {
  response: StoredResponse;
  /** True when the answer is the stored one of an earlier request with the same key. */
  replayed: boolean;
}

interface Candidate {
  marketplace: Marketplace;
  offer: GpuOffer;
}

const notFound = (id: string) => new GatewayError("not_found", { message: `No GPU instance '${id}'.` });

/**
 * Creates that happen once per Idempotency-Key: the cheapest offer first, the other
 * marketplace when one refuses, and a create whose answer was lost reconciled by label —
 * never sent again blindly.
 */
export function createProvisioning(
  context: GpuContext,
  settings: ProvisioningSettings,
): { create(tenantId: string, key: string, hash: string, request: CreateGpuInstanceRequest, requestId: string): Promise<CreateOutcome> } {
  const { db, logger, guard } = context;

  async function candidatesFor(request: CreateGpuInstanceRequest, requestId: string, notes: string[]): Promise<Candidate[]> {
    const pinned = request.offer_id?.split(":")[0] ?? request.provider;
    const chosen = context.marketplaces.filter((marketplace) => pinned === undefined || marketplace.name === pinned);
    // Priced for the disk asked for, which is what the marketplace will bill.
    const query: MarketplaceQuery = request.offer_id
      ? { offer_id: request.offer_id, disk_gb: request.disk_gb, limit: Number.POSITIVE_INFINITY }
      : {
          gpu_model: request.gpu_model,
          gpu_count: request.gpu_count,
          max_price_per_hour: request.max_price_per_hour,
          region: request.region,
          disk_gb: request.disk_gb,
          limit: Number.POSITIVE_INFINITY,
        };
    if (chosen.length === 0)
      throw new GatewayError("unavailable", {
        message: `No GPU marketplace could be searched: ${pinned} is not configured.`,
        retryAfterS: 5,
      });
    // Every chosen marketplace at once; throws 503 when none could be searched.
    const list = await searchOffers(chosen, guard, query, requestId, context.detached);
    for (const failure of list.failed_providers) notes.push(`${failure.provider} search: ${failure.message}`);
    const found: Candidate[] = [];
    for (const marketplace of chosen) {
      const offers = list.data.filter((candidate) => candidate.provider === marketplace.name);
      const offer = request.offer_id ? offers.find((candidate) => candidate.id === request.offer_id) : offers[0];
      if (offer) found.push({ marketplace, offer });
    }
    if (request.offer_id && found[0] && found[0].offer.price_per_hour > request.max_price_per_hour) {
      throw new GatewayError("invalid_request", {
        message: `Offer ${request.offer_id} costs ${found[0].offer.price_per_hour}/h with ${request.disk_gb} GB of disk, above max_price_per_hour.`,
        param: "max_price_per_hour",
      });
    }
    return found.sort((a, b) => a.offer.price_per_hour - b.offer.price_per_hour);
  }

  /** After an ambiguous create: the instance by its label, undefined if surely absent, "unknown" if no look-up answered. */
  async function reconcile(marketplace: Marketplace, label: string, requestId: string): Promise<ProviderInstance | undefined | "unknown"> {
    let answered = false;
    for (let lookup = 1; lookup <= settings.reconcile.lookups; lookup++) {
      try {
        const found = await guard.retried(marketplace.name, requestId, context.detached, (call) => marketplace.findByLabel(label, call));
        if (found) return found;
        answered = true;
      } catch (error) {
        logger.warn("gpu reconcile look-up failed", { provider: marketplace.name, label, error });
      }
      if (lookup < settings.reconcile.lookups) await context.sleep(settings.reconcile.delayMs);
    }
    return answered ? undefined : "unknown";
  }

  async function adopt(
    tenantId: string,
    key: string,
    id: string,
    provider: GpuProvider,
    found: { providerInstanceId: string; rawStatus?: string },
    offer: GpuOffer,
    reason: string,
    calls: number,
  ): Promise<StoredResponse> {
    return await db.transaction(tenantId, async (tx) => {
      const row = await moveInstance(tx, tenantId, id, "provisioning", reason, {
        provider,
        providerInstanceId: found.providerInstanceId,
        providerStatus: found.rawStatus,
        offer,
      });
      const response = {
        status: 201,
        body: instanceView(row, await selectTransitions(tx, tenantId, id)),
        headers: { "x-breakwater-provider": provider, "x-breakwater-attempts": String(calls) },
      };
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

  /** The create's answer was lost and no look-up answered: the instance stays pending, to be reconciled on read, by the poller and the sweep. */
  async function leavePending(
    tenantId: string,
    key: string,
    id: string,
    provider: GpuProvider,
    offer: GpuOffer,
    calls: number,
  ): Promise<StoredResponse> {
    return await db.transaction(tenantId, async (tx) => {
      const row = await setPendingProvider(tx, tenantId, id, provider, offer);
      if (!row) throw notFound(id);
      const response = {
        status: 202,
        body: instanceView(row, await selectTransitions(tx, tenantId, id)),
        headers: { "x-breakwater-provider": provider, "x-breakwater-attempts": String(calls) },
      };
      await completeKey(tx, tenantId, key, response);
      return response;
    });
  }

  async function provision(
    tenantId: string,
    key: string,
    id: string,
    request: CreateGpuInstanceRequest,
    requestId: string,
  ): Promise<StoredResponse> {
    const notes: string[] = [];
    let candidates: Candidate[];
    try {
      candidates = await candidatesFor(request, requestId, notes);
    } catch (error) {
      return await fail(
        tenantId,
        key,
        id,
        error instanceof GatewayError ? error : new GatewayError("internal_error", { cause: error }),
        requestId,
      );
    }
    if (candidates.length === 0) {
      const what = request.offer_id
        ? `offer ${request.offer_id}`
        : `${request.gpu_count} × ${request.gpu_model} at ≤ ${request.max_price_per_hour}/h with ${request.disk_gb} GB of disk${request.region ? ` in ${request.region}` : ""}`;
      return await fail(
        tenantId,
        key,
        id,
        new GatewayError("not_found", {
          message: `No GPU offer matches ${what}.${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`,
          param: request.offer_id ? "offer_id" : "gpu_model",
        }),
        requestId,
      );
    }
    const label = labelFor(context.region, id);
    let calls = 0;
    let onlyRefusals = true;
    let last: GatewayError | undefined;
    const waits: number[] = [];
    for (const { marketplace, offer } of candidates) {
      const spec = {
        offer,
        label,
        image: request.image,
        diskGb: request.disk_gb,
        durationHours: request.duration_hours,
        httpPort: request.http_port ?? settings.defaultHttpPort,
        env: request.env ?? {},
      };
      calls += 1;
      try {
        guard.refuseIfCooling(marketplace.name);
        const created = await guard.once(
          marketplace.name,
          requestId,
          context.detached,
          (call) => marketplace.create(spec, call),
          settings.createTimeoutMs,
        );
        return await adopt(tenantId, key, id, marketplace.name, created, offer, `created at ${marketplace.name}`, calls);
      } catch (error) {
        const failure =
          error instanceof GatewayError ? error : new GatewayError("upstream_error", { message: failureOf(error).message, cause: error });
        last = failure;
        if (failure.retryAfterS !== undefined) waits.push(failure.retryAfterS);
        if (nothingMade(failure)) {
          // A refusal of the request itself stands as the answer; the marketplace's own trouble (billing, limits, breaker) does not.
          onlyRefusals &&= failure.status < 500 && failure.status !== 429;
          notes.push(`${marketplace.name}: ${failure.message}`);
          continue;
        }
        // The create may have reached the marketplace: look for it before going anywhere else.
        onlyRefusals = false;
        const found = await reconcile(marketplace, label, requestId);
        if (found === "unknown") return await leavePending(tenantId, key, id, marketplace.name, offer, calls);
        if (found)
          return await adopt(
            tenantId,
            key,
            id,
            marketplace.name,
            found,
            offer,
            `adopted from ${marketplace.name} by label after: ${failure.message}`,
            calls,
          );
        notes.push(`${marketplace.name}: ${failure.message} (not found by label)`);
      }
    }
    logger.warn("gpu create failed at every marketplace", { requestId, instance: id, attempts: notes });
    // The soonest any marketplace said it could serve again, when each said; else a short wait.
    const retryAfterS = waits.length === calls && waits.length > 0 ? Math.max(1, Math.ceil(Math.min(...waits))) : 5;
    const error =
      onlyRefusals && last
        ? last
        : new GatewayError("unavailable", { message: `No GPU marketplace could create the instance: ${notes.join("; ")}`, retryAfterS });
    return await fail(tenantId, key, id, error, requestId);
  }

  return {
    async create(tenantId, key, hash, request, requestId) {
      for (let round = 0; round < 3; round++) {
        const id = randomUUID();
        const claim = await db.transaction(tenantId, async (tx) => {
          const state = await claimKey(tx, tenantId, key, hash, id, settings.idempotency.ttlMs);
          if (state.state === "claimed") await insertPendingInstance(tx, tenantId, id, labelFor(context.region, id), request);
          return state;
        });
        if (claim.state === "completed") return { response: claim.response, replayed: true };
        if (claim.state === "claimed") return { response: await provision(tenantId, key, id, request, requestId), replayed: false };
        const waited = await awaitKey(db, tenantId, key, hash, {
          waitMs: settings.idempotency.waitMs,
          pollMs: settings.idempotency.pollMs,
          sleep: context.sleep,
        });
        if (waited === "timeout") break;
        if (waited !== "released") return { response: waited, replayed: true };
      }
      throw new GatewayError("conflict", {
        message: "A request with this Idempotency-Key is still in progress; retry shortly.",
        param: "Idempotency-Key",
        retryAfterS: 1,
      });
    },
  };
}
