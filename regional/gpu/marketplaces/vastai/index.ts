import type { GpuOffer } from "../../../../shared/contract/gpu.ts";
import { GatewayError } from "../../../../shared/error.ts";
import type { GcraPolicy } from "../../../../shared/gcra.ts";
import { nodeTransport, type Transport } from "../../../providers/http.ts";
import type { CallContext } from "../../../providers/types.ts";
import { displayGpuModel } from "../../gpu-model.ts";
import type { Marketplace, MarketplaceQuery, ProviderInstance } from "../../marketplace.ts";
import { intervalS, pacerFor, type PacingOptions } from "../../pacer.ts";
import { unlessGone } from "../../provider-errors.ts";
import { countryCodes } from "../../region.ts";
import { callMarketplace, errorFieldsOf, marketplaceError, type MarketplaceHttp } from "../http-call.ts";
import { createGpuNameCatalog } from "./gpu-names.ts";
import { vastRawStatus, vastStatus } from "./status.ts";
import type {
  VastCreateRequest,
  VastCreateResponse,
  VastGpuNames,
  VastInstance,
  VastInstancePage,
  VastInstanceResponse,
  VastOffer,
  VastSearchRequest,
  VastSearchResponse,
} from "./wire.ts";

export interface VastAiOptions {
  /** `https://console.vast.ai`, with or without `/api/v0`. */
  baseUrl: string;
  apiKey: string;
  transport?: Transport;
  /** Default: paced to the published limits, waiting up to 5 s for a slot. */
  pacing?: PacingOptions;
  /** Seconds Vast.ai is left alone after it refused the account (credit). Default 300. */
  billingCoolDownS?: number;
  now?: () => number;
}

const name = "vastai";

/**
 * The published per-endpoint limits (vast-ai/docs api-reference/openapi/yaml, `x-rate-limit`):
 * search 10 a minute per IP; the others a `threshold` of requests per second, kept evenly apart.
 */
export const vastLimits: Record<"search" | "create" | "show" | "list" | "destroy" | "gpuNames", GcraPolicy> = {
  search: { limit: 10, periodMs: 60_000 },
  create: { limit: 1, periodMs: 223 },
  show: { limit: 1, periodMs: 500 },
  list: { limit: 1, periodMs: 1_000 },
  destroy: { limit: 1, periodMs: 334 },
  // Not in the OpenAPI files (vast-cli calls it once a day); paced like the listing.
  gpuNames: { limit: 1, periodMs: 1_000 },
};

/** The v1 listing's largest page (show_instances.yaml); past this many pages (at one a second) the listing is refused, never cut short. */
const pageSize = 25;
const maxPages = 150;
/** Only what the gateway reads: the listing pages through the whole account. */
const listedColumns = ["id", "label", "actual_status", "intended_status", "cur_state"];

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
  return {
    providerInstanceId: String(instance.id),
    label: instance.label ?? null,
    status: vastStatus(instance),
    rawStatus: vastRawStatus(instance),
  };
}

/** `success: false` in a 2xx answer is a refusal, read like the 400 it stands for. */
function refusedInBody(http: MarketplaceHttp, body: { success?: boolean } & object): GatewayError | undefined {
  if (body.success !== false) return undefined;
  return marketplaceError(http, 400, http.errorFields(body), undefined);
}

/** Vast.ai as a marketplace: search bundles, rent an ask, list, show and destroy instances. */
export function createVastAiMarketplace(options: VastAiOptions): Marketplace {
  const origin = options.baseUrl.replace(/\/+$/, "").replace(/\/api\/v\d+$/, "");
  const headers = { authorization: `Bearer ${options.apiKey}` };
  const now = options.now ?? Date.now;
  const http: MarketplaceHttp = {
    name,
    transport: options.transport ?? nodeTransport(),
    pacer: pacerFor(name, vastLimits, options.pacing ?? { maxWaitMs: 5_000 }),
    errorFields: errorFieldsOf,
    retryAfterS: (endpoint) => intervalS(vastLimits, endpoint),
    billingCoolDownS: options.billingCoolDownS ?? 300,
  };
  const call = <T>(
    endpoint: keyof typeof vastLimits,
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    context: CallContext,
    body?: unknown,
  ) => callMarketplace<T>(http, { endpoint, method, url: `${origin}${path}`, headers, body }, context);

  const catalog = createGpuNameCatalog(
    async (context) => {
      const answer = await call<VastGpuNames>("gpuNames", "GET", "/api/v0/gpu_names/unique/", context);
      return Array.isArray(answer.gpu_names) ? answer.gpu_names.filter((item): item is string => typeof item === "string") : [];
    },
    { ttlMs: 24 * 3_600_000, now },
  );

  async function searchRequest(query: MarketplaceQuery, context: CallContext): Promise<VastSearchRequest | undefined> {
    const request: VastSearchRequest = {
      limit: Math.min(query.limit, 100),
      type: "on-demand",
      verified: { eq: true },
      external: { eq: false },
      rentable: { eq: true },
      rented: { eq: false },
      disk_space: { gte: query.disk_gb },
      allocated_storage: query.disk_gb,
      order: [["dph_total", "asc"]],
    };
    if (query.offer_id !== undefined) {
      const askId = Number(query.offer_id.slice(name.length + 1));
      return query.offer_id.startsWith(`${name}:`) && Number.isSafeInteger(askId) ? { ...request, id: { eq: askId } } : undefined;
    }
    if (query.gpu_model !== undefined) {
      const names = await catalog.matching(query.gpu_model, context);
      if (names.length === 0) return undefined;
      request.gpu_name = { in: names };
    }
    if (query.gpu_count !== undefined) request.num_gpus = { eq: query.gpu_count };
    if (query.max_price_per_hour !== undefined) request.dph_total = { lte: query.max_price_per_hour };
    const codes = countryCodes(query.region);
    if (codes) request.geolocation = { in: codes };
    return request;
  }

  /** One v1 page; `filters` go to the server as JSON, as vast-cli sends them (api/client.py). */
  function page(filters: object, after: string | undefined, context: CallContext): Promise<VastInstancePage> {
    const params = new URLSearchParams({
      select_filters: JSON.stringify(filters),
      order_by: JSON.stringify([{ col: "id", dir: "asc" }]),
      select_cols: JSON.stringify(listedColumns),
      limit: String(pageSize),
      ...(after ? { after_token: after } : {}),
    });
    return call<VastInstancePage>("list", "GET", `/api/v1/instances/?${params}`, context);
  }

  return {
    name,
    async searchOffers(query, context) {
      const request = await searchRequest(query, context);
      if (!request) return [];
      const answer = await call<VastSearchResponse>("search", "POST", "/api/v0/bundles/", context, request);
      return (Array.isArray(answer.offers) ? answer.offers : []).map(vastOffer);
    },
    async create(spec, context) {
      const askId = spec.offer.id.slice(name.length + 1);
      const request: VastCreateRequest = {
        image: spec.image,
        disk: spec.diskGb,
        label: spec.label,
        env: { ...spec.env, [`-p ${spec.httpPort}:${spec.httpPort}`]: "1" },
        runtype: "args",
        cancel_unavail: true,
      };
      const answer = await call<VastCreateResponse>("create", "PUT", `/api/v0/asks/${encodeURIComponent(askId)}/`, context, request);
      const refused = refusedInBody(http, answer);
      if (refused) throw refused;
      if (!Number.isSafeInteger(answer.new_contract) || (answer.new_contract ?? 0) <= 0) {
        // It said yes without an id: the instance may exist, so the create is reconciled by label, never repeated.
        throw new GatewayError("upstream_error", { message: `${name} accepted the create but named no instance.` });
      }
      return { providerInstanceId: String(answer.new_contract) };
    },
    async findByLabel(label, context) {
      const answer = await page({ label: { eq: label } }, undefined, context);
      const found = (answer.instances ?? [])
        .map(vastInstance)
        .find((instance) => instance.label === label && instance.status !== "terminated");
      return found;
    },
    async listLabelled(prefix, context) {
      const found: ProviderInstance[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < maxPages; pages++) {
        const answer = await page({}, after, context);
        for (const instance of (answer.instances ?? []).map(vastInstance)) {
          if (instance.label?.startsWith(prefix) && instance.status !== "terminated") found.push(instance);
        }
        if (!answer.next_token) return found;
        after = answer.next_token;
      }
      throw new GatewayError("upstream_error", {
        message: `${name} lists more than ${maxPages * pageSize} instances; the sweep refuses a partial list.`,
      });
    },
    async get(providerInstanceId, context) {
      const answer = await unlessGone(
        call<VastInstanceResponse>("show", "GET", `/api/v0/instances/${encodeURIComponent(providerInstanceId)}/`, context),
      );
      const instance = Array.isArray(answer?.instances) ? (answer.instances[0] as VastInstance | undefined) : answer?.instances;
      return instance ? vastInstance(instance) : undefined;
    },
    async destroy(providerInstanceId, context) {
      const answer = await unlessGone(
        call<{ success?: boolean }>("destroy", "DELETE", `/api/v0/instances/${encodeURIComponent(providerInstanceId)}/`, context),
      );
      const refused = answer && typeof answer === "object" ? refusedInBody(http, answer) : undefined;
      if (refused) throw refused;
    },
  };
}
