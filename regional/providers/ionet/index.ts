import type { GpuOffer, GpuOfferQuery } from "../../../shared/contract/gpu.ts";
import { displayGpuModel, gpuModelMatches, vramFromName } from "../../gpu/gpu-model.ts";
import type { Marketplace, ProviderInstance } from "../../gpu/marketplace.ts";
import { unlessGone } from "../../gpu/provider-errors.ts";
import { nodeTransport, type Transport } from "../http.ts";
import { callJson } from "../json-call.ts";
import type { CallContext } from "../types.ts";
import type { IonetDeployment, IonetDeploymentList, IonetDeployRequest, IonetDeployResponse, IonetEnvelope, IonetHardware, IonetHardwareList, IonetLocationReplicas, IonetPrice } from "./wire.ts";

export interface IonetOptions {
  /** e.g. `https://api.io.solutions/enterprise/v1/io-cloud/caas`. */
  baseUrl: string;
  apiKey: string;
  transport?: Transport;
}

const name = "ionet";
/** Hardware types priced per search: each costs two calls. */
const maxHardwarePerSearch = 8;

const statuses: Record<string, ProviderInstance["status"]> = {
  "deployment requested": "provisioning",
  running: "running",
  "termination requested": "terminating",
  destroyed: "terminated",
  completed: "terminated",
  failed: "failed",
};

export function ionetStatus(status: string): ProviderInstance["status"] {
  return statuses[status.trim().toLowerCase()] ?? "provisioning";
}

function ionetInstance(deployment: IonetDeployment): ProviderInstance {
  return { providerInstanceId: deployment.id, label: deployment.name ?? null, status: ionetStatus(deployment.status), rawStatus: deployment.status };
}

/** Offer ids carry what `POST /deploy` needs: `ionet:<hardware>-<location>-<gpus>`. */
export function ionetOfferId(hardwareId: number, locationId: number, gpus: number): string {
  return `${name}:${hardwareId}-${locationId}-${gpus}`;
}

function parseOfferId(id: string): { hardwareId: number; locationId: number; gpus: number } {
  const [hardwareId, locationId, gpus] = id.slice(name.length + 1).split("-").map(Number);
  return { hardwareId: hardwareId ?? NaN, locationId: locationId ?? NaN, gpus: gpus ?? NaN };
}

/** io.net as a marketplace: hardware × locations priced per hour, deployments named by the gateway. */
export function createIonetMarketplace(options: IonetOptions): Marketplace {
  const transport = options.transport ?? nodeTransport();
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = { "x-api-key": options.apiKey };
  const call = <T>(method: "GET" | "POST" | "DELETE", path: string, context: CallContext, body?: unknown) => callJson<T>(name, transport, { method, url: `${base}${path}`, headers, body }, context);

  async function offersFor(hardware: IonetHardware, gpus: number, context: CallContext): Promise<GpuOffer[]> {
    const replicas = await call<IonetEnvelope<IonetLocationReplicas[]>>("GET", `/available-replicas?hardware_id=${hardware.hardware_id}&hardware_qty=${gpus}`, context);
    const locations = replicas.data.filter((location) => location.available_replicas > 0);
    if (locations.length === 0) return [];
    const priceQuery = new URLSearchParams({ hardware_id: String(hardware.hardware_id), gpus_per_container: String(gpus), hardware_qty: String(gpus), duration_type: "hourly", duration_qty: "1", replica_count: "1", currency: "usdc" });
    for (const location of locations) priceQuery.append("location_ids", String(location.id));
    const price = await call<IonetEnvelope<IonetPrice>>("GET", `/price?${priceQuery}`, context);
    return locations.map((location) => ({
      id: ionetOfferId(hardware.hardware_id, location.id, gpus),
      provider: name,
      gpu_model: displayGpuModel(hardware.hardware_name),
      gpu_count: gpus,
      vram_gb: vramFromName(hardware.hardware_name),
      price_per_hour: price.data.total_cost_usdc,
      location: `${location.name}, ${location.iso2}`,
      reliability: null,
    }));
  }

  async function searchOffers(query: GpuOfferQuery, context: CallContext): Promise<GpuOffer[]> {
    const gpus = query.gpu_count ?? 1;
    const list = await call<IonetEnvelope<IonetHardwareList>>("GET", "/hardware/max-gpus-per-container", context);
    const candidates = list.data.hardware
      .filter((hardware) => hardware.available > 0 && hardware.max_gpus_per_container >= gpus)
      .filter((hardware) => query.gpu_model === undefined || gpuModelMatches(hardware.hardware_name, query.gpu_model))
      .slice(0, maxHardwarePerSearch);
    return (await Promise.all(candidates.map((hardware) => offersFor(hardware, gpus, context)))).flat();
  }

  return {
    name,
    searchOffers,
    async create(spec, context) {
      const { hardwareId, locationId, gpus } = parseOfferId(spec.offer.id);
      const request: IonetDeployRequest = {
        resource_private_name: spec.label,
        duration_hours: spec.durationHours,
        gpus_per_container: gpus,
        hardware_id: hardwareId,
        location_ids: [locationId],
        container_config: { replica_count: 1, ...(Object.keys(spec.env).length > 0 ? { env_variables: spec.env } : {}) },
        registry_config: { image_url: spec.image },
      };
      const answer = await call<IonetDeployResponse>("POST", "/deploy", context, request);
      return { providerInstanceId: answer.deployment_id };
    },
    async findByLabel(label, context) {
      // Newest first: a just-made deployment is on the first page.
      const answer = await call<IonetEnvelope<IonetDeploymentList>>("GET", "/deployments?page=1&page_size=100&sort_by=created_at&sort_order=desc", context);
      const found = answer.data.deployments.find((deployment) => deployment.name === label);
      return found ? ionetInstance(found) : undefined;
    },
    async get(providerInstanceId, context) {
      const answer = await unlessGone(call<IonetEnvelope<IonetDeployment>>("GET", `/deployment/${encodeURIComponent(providerInstanceId)}`, context));
      return answer ? ionetInstance(answer.data) : undefined;
    },
    async destroy(providerInstanceId, context) {
      await unlessGone(call<IonetDeployResponse>("DELETE", `/deployment/${encodeURIComponent(providerInstanceId)}`, context));
    },
  };
}
