import type { GpuOffer } from "../../../shared/contract/gpu.ts";
import { displayGpuModel } from "../../gpu/gpu-model.ts";
import type { Marketplace, ProviderInstance } from "../../gpu/marketplace.ts";
import { unlessGone } from "../../gpu/provider-errors.ts";
import { nodeTransport, type Transport } from "../http.ts";
import { callJson, type ErrorFields } from "../json-call.ts";
import type { VastCreateRequest, VastCreateResponse, VastInstance, VastInstancesResponse, VastOffer, VastSearchRequest, VastSearchResponse } from "./wire.ts";

export interface VastAiOptions {
  /** Up to `/api/v0`, e.g. `https://console.vast.ai/api/v0`. */
  baseUrl: string;
  apiKey: string;
  transport?: Transport;
}

const name = "vastai";

/** `{"success": false, "error": "invalid_args", "msg": "..."}`: `msg` is the sentence, `error` the code. */
const vastErrorFields: ErrorFields = (body) => {
  const { error, msg } = (body && typeof body === "object" ? body : {}) as { error?: unknown; msg?: unknown };
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  return { message: text(msg) ?? text(error), code: text(error) };
};

/** The gateway's status for Vast.ai's `actual_status`. */
export function vastStatus(instance: VastInstance): ProviderInstance["status"] {
  const status = instance.actual_status ?? "";
  if (status === "running") return "running";
  if (status === "" || status === "created" || status === "loading" || status === "scheduling") return "provisioning";
  return "failed";
}

export function vastOffer(offer: VastOffer): GpuOffer {
  return {
    id: `${name}:${offer.id}`,
    provider: name,
    gpu_model: displayGpuModel(offer.gpu_name),
    gpu_count: offer.num_gpus,
    vram_gb: Math.round(offer.gpu_ram / 1024),
    price_per_hour: offer.dph_total,
    location: offer.geolocation ?? null,
    reliability: offer.reliability ?? offer.reliability2 ?? null,
  };
}

function vastInstance(instance: VastInstance): ProviderInstance {
  return { providerInstanceId: String(instance.id), label: instance.label ?? null, status: vastStatus(instance), rawStatus: instance.actual_status ?? "null" };
}

/** Vast.ai as a marketplace: search bundles, rent an ask, list and destroy instances. */
export function createVastAiMarketplace(options: VastAiOptions): Marketplace {
  const transport = options.transport ?? nodeTransport();
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = { authorization: `Bearer ${options.apiKey}` };
  const call = <T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, context: Parameters<Marketplace["get"]>[1], body?: unknown) =>
    callJson<T>(name, transport, { method, url: `${base}${path}`, headers, body }, context, vastErrorFields);

  return {
    name,
    async searchOffers(query, context) {
      const request: VastSearchRequest = {
        limit: 100,
        type: "on-demand",
        rentable: { eq: true },
        rented: { eq: false },
        ...(query.gpu_count === undefined ? {} : { num_gpus: { eq: query.gpu_count } }),
        ...(query.max_price_per_hour === undefined ? {} : { dph_total: { lte: query.max_price_per_hour } }),
        order: [["dph_total", "asc"]],
      };
      const answer = await call<VastSearchResponse>("POST", "/bundles/", context, request);
      return (answer.offers ?? []).map(vastOffer);
    },
    async create(spec, context) {
      const askId = spec.offer.id.slice(name.length + 1);
      const request: VastCreateRequest = { image: spec.image, disk: spec.diskGb, label: spec.label, env: spec.env, runtype: "args" };
      const answer = await call<VastCreateResponse>("PUT", `/asks/${encodeURIComponent(askId)}/`, context, request);
      return { providerInstanceId: String(answer.new_contract) };
    },
    async findByLabel(label, context) {
      const answer = await call<VastInstancesResponse>("GET", "/instances/", context);
      const instances = Array.isArray(answer.instances) ? answer.instances : [answer.instances];
      const found = instances.find((instance) => instance.label === label);
      return found ? vastInstance(found) : undefined;
    },
    async get(providerInstanceId, context) {
      const answer = await unlessGone(call<VastInstancesResponse>("GET", `/instances/${encodeURIComponent(providerInstanceId)}/`, context));
      const instance = Array.isArray(answer?.instances) ? answer.instances[0] : answer?.instances;
      return instance ? vastInstance(instance) : undefined;
    },
    async destroy(providerInstanceId, context) {
      await unlessGone(call<unknown>("DELETE", `/instances/${encodeURIComponent(providerInstanceId)}/`, context));
    },
  };
}
