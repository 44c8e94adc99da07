import type { GpuOffer, GpuOfferQuery, GpuProvider } from "../../shared/contract/gpu.ts";
import type { CallContext } from "../providers/types.ts";

/** A search as the gateway asks it: the API's query, or exactly one offer (a create with `offer_id`). */
export type MarketplaceQuery = GpuOfferQuery & { offer_id?: string };

/** What the gateway asks a marketplace to run. */
export interface CreateSpec {
  offer: GpuOffer;
  /** Stored by the marketplace with the instance (see label.ts), so a lost answer can be found again and the sweep can tell ours. */
  label: string;
  image: string;
  diskGb: number;
  durationHours: number;
  /** The container's one HTTP port. */
  httpPort: number;
  env: Record<string, string>;
}

/**
 * An instance's state in the gateway's terms, as an adapter reads the marketplace's word:
 * `failed` and `terminated` are the marketplace ending it; every other state may still bill.
 */
export type ProviderStatus = "provisioning" | "running" | "degraded" | "stopped" | "terminating" | "terminated" | "failed";

/** An instance as the marketplace reports it. */
export interface ProviderInstance {
  providerInstanceId: string;
  label: string | null;
  status: ProviderStatus;
  /** The marketplace's own word for it, for the API answer, events and logs. */
  rawStatus: string;
}

/**
 * One GPU marketplace behind one interface. Adapters translate to and from the wire format,
 * pace their own calls to the marketplace's published limits, and raise `GatewayError`s
 * (with `upstreamStatus` when the marketplace answered).
 */
export interface Marketplace {
  name: GpuProvider;
  searchOffers(query: MarketplaceQuery, context: CallContext): Promise<GpuOffer[]>;
  /** Rents the offer; resolves with the marketplace's id for the new instance. */
  create(spec: CreateSpec, context: CallContext): Promise<{ providerInstanceId: string }>;
  /** The live instance carrying `label`, if the marketplace has one. */
  findByLabel(label: string, context: CallContext): Promise<ProviderInstance | undefined>;
  /** Every live instance whose label starts with `prefix`: the whole list, or an error (never a part). */
  listLabelled(prefix: string, context: CallContext): Promise<ProviderInstance[]>;
  /** The instance, or undefined once the marketplace no longer knows it. */
  get(providerInstanceId: string, context: CallContext): Promise<ProviderInstance | undefined>;
  /** Destroys the instance; resolves only once the marketplace confirmed it (or no longer knows it). */
  destroy(providerInstanceId: string, context: CallContext): Promise<void>;
}
