import type { GpuOffer, GpuOfferList, GpuProvider } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Guard } from "./guard.ts";
import { gpuModelMatches } from "./gpu-model.ts";
import type { Marketplace, MarketplaceQuery } from "./marketplace.ts";
import { regionMatches } from "./region.ts";

/**
 * The query's filters, applied the same way to every marketplace's offers: the marketplaces
 * filter server-side what they can, this catches what they cannot (a free-text region).
 */
export function offerMatches(offer: GpuOffer, query: Partial<MarketplaceQuery>): boolean {
  if (query.offer_id !== undefined) return offer.id === query.offer_id;
  if (query.gpu_model !== undefined && !gpuModelMatches(offer.gpu_model, query.gpu_model)) return false;
  if (query.gpu_count !== undefined && offer.gpu_count !== query.gpu_count) return false;
  if (query.max_price_per_hour !== undefined && offer.price_per_hour > query.max_price_per_hour) return false;
  if (query.region !== undefined && !regionMatches(offer.location, query.region)) return false;
  return true;
}

const cheapestFirst = (a: GpuOffer, b: GpuOffer) => a.price_per_hour - b.price_per_hour || a.id.localeCompare(b.id);

/**
 * Searches the marketplaces at once, each through its breaker and deadline. One that fails
 * leaves the list partial and is named in `failed_providers`; all failing is a 503.
 */
export async function searchOffers(
  marketplaces: Marketplace[],
  guard: Guard,
  query: MarketplaceQuery,
  requestId: string,
  signal: AbortSignal,
): Promise<GpuOfferList> {
  const chosen = marketplaces.filter((marketplace) => query.provider === undefined || marketplace.name === query.provider);
  const search = async (marketplace: Marketplace) => {
    guard.refuseIfCooling(marketplace.name);
    return await guard.retried(marketplace.name, requestId, signal, (context) => marketplace.searchOffers(query, context));
  };
  const results = await Promise.allSettled(chosen.map(search));
  const data: GpuOffer[] = [];
  const failed: GpuOfferList["failed_providers"] = [];
  results.forEach((result, index) => {
    const provider = chosen[index]?.name as GpuProvider;
    if (result.status === "fulfilled") data.push(...result.value.filter((offer) => offerMatches(offer, query)));
    else failed.push({ provider, ...failureOf(result.reason) });
  });
  if (chosen.length > 0 && failed.length === chosen.length) {
    const soonest = Math.min(
      ...results.map((result) =>
        result.status === "rejected" && result.reason instanceof GatewayError ? (result.reason.retryAfterS ?? 5) : 5,
      ),
    );
    throw new GatewayError("unavailable", {
      message: `No GPU marketplace could be searched: ${failed.map((failure) => `${failure.provider}: ${failure.message}`).join("; ")}`,
      retryAfterS: Math.max(1, Math.ceil(soonest)),
    });
  }
  return { object: "list", data: data.sort(cheapestFirst).slice(0, query.limit), failed_providers: failed };
}

export function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof GatewayError) return { code: error.code, message: error.message };
  // A bug of ours: its text stays in the logs, never in an answer.
  return { code: "internal_error", message: "Internal error." };
}
