import type { GpuOffer } from "../../../../shared/contract/gpu.ts";
import { GatewayError } from "../../../../shared/error.ts";
import type { GcraPolicy } from "../../../../shared/gcra.ts";
import { nodeTransport, type Transport } from "../../../providers/http.ts";
import type { CallContext } from "../../../providers/types.ts";
import { displayGpuModel, gpuModelMatches, vramFromName } from "../../gpu-model.ts";
import type { Marketplace, MarketplaceQuery, ProviderInstance } from "../../marketplace.ts";
import { intervalS, pacerFor, type PacingOptions } from "../../pacer.ts";
import { unlessGone } from "../../provider-errors.ts";
import { callMarketplace, errorFieldsOf, type MarketplaceHttp } from "../http-call.ts";
import { ionetLiveStatuses, ionetStatus } from "./status.ts";
import type {
  IonetDeployment,
  IonetDeploymentList,
  IonetDeployRequest,
  IonetDeployResponse,
  IonetEnvelope,
  IonetHardware,
  IonetHardwareList,
  IonetLocationReplicas,
  IonetPrice,
  IonetPriceQuery,
} from "./wire.ts";

export interface IonetOptions {
  /** e.g. `https://api.io.solutions/enterprise/v1/io-cloud/caas`. */
  baseUrl: string;
  apiKey: string;
  transport?: Transport;
  /** Default: paced to the published limit, waiting up to 5 s for a slot. */
  pacing?: PacingOptions;
  /** Seconds io.net is left alone after it refused the account. Default 300. */
  billingCoolDownS?: number;
}

const name = "ionet";
/** Hardware types priced per search: each costs two calls. */
const maxHardwarePerSearch = 8;
/** The listing's largest page (caas/get-all-deployments). */
const pageSize = 100;
const maxPages = 50;

/**
 * IO Cloud publishes no per-endpoint limit; every call shares the umbrella limit io.net
 * publishes for its API (150 requests per 10 s, io.net/docs/reference/getting-started-with-your-api).
 */
export const ionetLimits: Record<"api", GcraPolicy> = { api: { limit: 150, periodMs: 10_000 } };

function ionetInstance(deployment: IonetDeployment): ProviderInstance {
  return {
    providerInstanceId: deployment.id,
    label: deployment.name ?? null,
    status: ionetStatus(deployment.status),
    rawStatus: deployment.status,
  };
}

/** Offer ids carry what `POST /deploy` needs: `ionet:<hardware>-<location>-<gpus>`. */
export function ionetOfferId(hardwareId: number, locationId: number, gpus: number): string {
  return `${name}:${hardwareId}-${locationId}-${gpus}`;
}

function parseOfferId(id: string): { hardwareId: number; locationId: number; gpus: number } | undefined {
  if (!id.startsWith(`${name}:`)) return undefined;
  const [hardwareId, locationId, gpus, ...rest] = id
    .slice(name.length + 1)
    .split("-")
    .map(Number);
  if (rest.length > 0 || ![hardwareId, locationId, gpus].every((value) => Number.isSafeInteger(value) && (value ?? 0) > 0))
    return undefined;
  return { hardwareId: hardwareId as number, locationId: locationId as number, gpus: gpus as number };
}

/** io.net as a marketplace: hardware × locations priced per hour, deployments named by the gateway. */
export function createIonetMarketplace(options: IonetOptions): Marketplace {
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = { "x-api-key": options.apiKey };
  const http: MarketplaceHttp = {
    name,
    transport: options.transport ?? nodeTransport(),
    pacer: pacerFor(name, ionetLimits, options.pacing ?? { maxWaitMs: 5_000 }),
    errorFields: errorFieldsOf,
    retryAfterS: (endpoint) => intervalS(ionetLimits, endpoint),
    billingCoolDownS: options.billingCoolDownS ?? 300,
  };
  const call = <T>(method: "GET" | "POST" | "DELETE", path: string, context: CallContext, body?: unknown) =>
    callMarketplace<T>(http, { endpoint: "api", method, url: `${base}${path}`, headers, body }, context);

  async function offersFor(
    hardware: IonetHardware,
    gpus: number,
    onlyLocation: number | undefined,
    context: CallContext,
  ): Promise<GpuOffer[]> {
    const replicas = await call<IonetEnvelope<IonetLocationReplicas[]>>(
      "GET",
      `/available-replicas?${new URLSearchParams({ hardware_id: String(hardware.hardware_id), hardware_qty: String(gpus) })}`,
      context,
    );
    const locations = (replicas.data ?? []).filter(
      (location) => location.available_replicas > 0 && (onlyLocation === undefined || location.id === onlyLocation),
    );
    if (locations.length === 0) return [];
    const priceQuery: IonetPriceQuery = {
      location_ids: JSON.stringify(locations.map((location) => location.id)),
      hardware_id: String(hardware.hardware_id),
      duration_hours: "1",
      gpus_per_container: String(gpus),
      replica_count: "1",
    };
    const price = await call<IonetEnvelope<IonetPrice>>("GET", `/price?${new URLSearchParams({ ...priceQuery })}`, context);
    if (typeof price.data?.total_cost_usdc !== "number")
      throw new GatewayError("upstream_error", { message: `${name} priced ${hardware.hardware_name} without a total.` });
    return locations.map((location) => ({
      id: ionetOfferId(hardware.hardware_id, location.id, gpus),
      provider: name,
      gpu_model: displayGpuModel(hardware.hardware_name),
      gpu_count: gpus,
      vram_gb: vramFromName(hardware.hardware_name),
      // One replica for one hour, all its GPUs.
      price_per_hour: price.data.total_cost_usdc,
      location: `${location.name}, ${location.iso2}`,
      reliability: null,
    }));
  }

  async function searchOffers(query: MarketplaceQuery, context: CallContext): Promise<GpuOffer[]> {
    const pinned = query.offer_id === undefined ? undefined : parseOfferId(query.offer_id);
    if (query.offer_id !== undefined && !pinned) return [];
    const gpus = pinned?.gpus ?? query.gpu_count ?? 1;
    // The hardware list takes no filters: model and availability are matched here.
    const list = await call<IonetEnvelope<IonetHardwareList>>("GET", "/hardware/max-gpus-per-container", context);
    const candidates = (list.data?.hardware ?? [])
      .filter((hardware) => hardware.available > 0 && hardware.max_gpus_per_container >= gpus)
      .filter((hardware) =>
        pinned
          ? hardware.hardware_id === pinned.hardwareId
          : query.gpu_model === undefined || gpuModelMatches(hardware.hardware_name, query.gpu_model),
      )
      .slice(0, maxHardwarePerSearch);
    // One hardware type that cannot be priced drops its offers, not the others'.
    const results = await Promise.allSettled(candidates.map((hardware) => offersFor(hardware, gpus, pinned?.locationId, context)));
    const failed = results.filter((result) => result.status === "rejected");
    if (failed.length > 0 && failed.length === results.length) throw failed[0]?.reason;
    return results.flatMap((result) => (result.status === "fulfilled" ? result.value : []));
  }

  /** Every deployment in `status`, page by page from page 0, until `total` are seen. */
  async function deploymentsIn(status: string, context: CallContext): Promise<IonetDeployment[]> {
    const found: IonetDeployment[] = [];
    for (let page = 0; page < maxPages; page++) {
      const params = new URLSearchParams({ status, page: String(page), page_size: String(pageSize) });
      const answer = await call<IonetEnvelope<IonetDeploymentList>>("GET", `/deployments?${params}`, context);
      const deployments = answer.data?.deployments ?? [];
      found.push(...deployments);
      if (deployments.length < pageSize || found.length >= (answer.data?.total ?? 0)) return found;
    }
    throw new GatewayError("upstream_error", {
      message: `${name} lists more than ${maxPages * pageSize} ${status} deployments; a partial list is refused.`,
    });
  }

  async function live(context: CallContext): Promise<ProviderInstance[]> {
    const lists = await Promise.all(ionetLiveStatuses.map((status) => deploymentsIn(status, context)));
    return lists.flat().map(ionetInstance);
  }

  return {
    name,
    searchOffers,
    async create(spec, context) {
      const pinned = parseOfferId(spec.offer.id);
      if (!pinned) throw new GatewayError("invalid_request", { message: `'${spec.offer.id}' is not an io.net offer.`, param: "offer_id" });
      const request: IonetDeployRequest = {
        resource_private_name: spec.label,
        duration_hours: spec.durationHours,
        gpus_per_container: pinned.gpus,
        hardware_id: pinned.hardwareId,
        location_ids: [pinned.locationId],
        container_config: {
          replica_count: 1,
          traffic_port: spec.httpPort,
          ...(Object.keys(spec.env).length > 0 ? { env_variables: spec.env } : {}),
        },
        registry_config: { image_url: spec.image },
      };
      const answer = await call<IonetDeployResponse>("POST", "/deploy", context, request);
      if (typeof answer.deployment_id !== "string" || answer.deployment_id === "") {
        // It said yes without an id: the deployment may exist, so the create is reconciled by name, never repeated.
        throw new GatewayError("upstream_error", { message: `${name} accepted the deployment but named none.` });
      }
      return { providerInstanceId: answer.deployment_id };
    },
    async findByLabel(label, context) {
      return (await live(context)).find((instance) => instance.label === label);
    },
    async listLabelled(prefix, context) {
      return (await live(context)).filter((instance) => instance.label?.startsWith(prefix));
    },
    async get(providerInstanceId, context) {
      const answer = await unlessGone(
        call<IonetEnvelope<IonetDeployment>>("GET", `/deployment/${encodeURIComponent(providerInstanceId)}`, context),
      );
      return answer?.data ? ionetInstance(answer.data) : undefined;
    },
    async destroy(providerInstanceId, context) {
      await unlessGone(call<IonetDeployResponse>("DELETE", `/deployment/${encodeURIComponent(providerInstanceId)}`, context));
    },
  };
}
