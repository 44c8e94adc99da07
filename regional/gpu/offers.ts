import type { GpuOffer, GpuOfferList, GpuOfferQuery, GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Guard } from "./guard.ts";
import { gpuModelMatches } from "./gpu-model.ts";
import type { Marketplace } from "./marketplace.ts";

/** The query's filters, applied the same way to every marketplace's offers. */
export function offerMatches(offer: GpuOffer, query: Partial<GpuOfferQuery>): boolean {
  if (query.gpu_model !== undefined && !gpuModelMatches(offer.gpu_model, query.gpu_model)) return false;
  if (query.gpu_count !== undefined && offer.gpu_count !== query.gpu_count) return false;
  if (query.max_price_per_hour !== undefined && offer.price_per_hour > query.max_price_per_hour) return false;
  if (query.region !== undefined && !(offer.location ?? "").toLowerCase().includes(query.region.toLowerCase())) return false;
  return true;
}

const cheapestFirst = (a: GpuOffer, b: GpuOffer) => a.price_per_hour - b.price_per_hour || a.id.localeCompare(b.id);

/**
 * Searches the marketplaces at once, each through its breaker and deadline. One that fails
 * leaves the list partial and is named in `failed_providers`; all failing is a 503.
 */
export async function searchOffers(marketplaces: Marketplace[], guard: Guard, query: GpuOfferQuery, requestId: string, signal: AbortSignal): Promise<GpuOfferList> {
  const chosen = marketplaces.filter((marketplace) => query.provider === undefined || marketplace.name === query.provider);
  const results = await Promise.allSettled(chosen.map((marketplace) => guard.retried(marketplace.name, requestId, signal, (context) => marketplace.searchOffers(query, context))));
  const data: GpuOffer[] = [];
  const failed: GpuOfferList["failed_providers"] = [];
  results.forEach((result, index) => {
    const provider = chosen[index]?.name as GpuProvider;
    if (result.status === "fulfilled") data.push(...result.value.filter((offer) => offerMatches(offer, query)));
    else failed.push({ provider, ...failureOf(result.reason) });
  });
  if (chosen.length > 0 && failed.length === chosen.length) {
    throw new GatewayError("unavailable", { message: `No GPU marketplace could be searched: ${failed.map((failure) => `${failure.provider}: ${failure.message}`).join("; ")}`, retryAfterS: 5 });
  }
  return { object: "list", data: data.sort(cheapestFirst).slice(0, query.limit), failed_providers: failed };
}

export function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof GatewayError) return { code: error.code, message: error.message };
  // A bug of ours: its text stays in the logs, never in an answer.
  return { code: "internal_error", message: "Internal error." };
}
