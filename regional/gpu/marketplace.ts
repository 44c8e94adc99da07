import type { GpuInstanceStatus, GpuOffer, GpuOfferQuery, GpuProvider } from "../../shared/contract/gpu.ts";
import type { CallContext } from "../providers/types.ts";

/** What the gateway asks a marketplace to run. */
export interface CreateSpec {
  offer: GpuOffer;
  /** The gateway's instance id: the marketplace stores it, so a lost answer can be found again. */
  label: string;
  image: string;
  diskGb: number;
  durationHours: number;
  env: Record<string, string>;
}

/** An instance as the marketplace reports it, its status already in the gateway's terms. */
export interface ProviderInstance {
  providerInstanceId: string;
  label: string | null;
  /** Only the states a marketplace can report; `pending` is the gateway's own. */
  status: Exclude<GpuInstanceStatus, "pending">;
  /** The marketplace's own word for it, for events and logs. */
  rawStatus: string;
}

/**
 * One GPU marketplace behind one interface. Adapters translate to and from the wire format
 * and raise `GatewayError`s (with `upstreamStatus` when the marketplace answered).
 */
export interface Marketplace {
  name: GpuProvider;
  searchOffers(query: GpuOfferQuery, context: CallContext): Promise<GpuOffer[]>;
  /** Rents the offer; resolves with the marketplace's id for the new instance. */
  create(spec: CreateSpec, context: CallContext): Promise<{ providerInstanceId: string }>;
  /** The instance carrying `label`, if the marketplace has one. */
  findByLabel(label: string, context: CallContext): Promise<ProviderInstance | undefined>;
  /** The instance, or undefined once the marketplace no longer knows it. */
  get(providerInstanceId: string, context: CallContext): Promise<ProviderInstance | undefined>;
  /** Destroys the instance; one that is already gone counts as destroyed. */
  destroy(providerInstanceId: string, context: CallContext): Promise<void>;
}
