import { z } from "zod";

/** The GPU marketplaces Breakwater rents from. */
export const gpuProviders = ["vastai", "ionet"] as const;
export const gpuProvider = z.enum(gpuProviders);
export type GpuProvider = z.infer<typeof gpuProvider>;

/** One rentable machine, the same shape whichever marketplace listed it. */
export const gpuOffer = z.object({
  /** `provider:local-id`; pass it back as `offer_id` to rent exactly this offer. */
  id: z.string(),
  provider: gpuProvider,
  /** Vendor prefix and memory size dropped: `RTX 4090`, `H100 SXM`. */
  gpu_model: z.string(),
  gpu_count: z.int().positive(),
  /** Memory per GPU; null when the marketplace does not say. */
  vram_gb: z.number().nullable(),
  /** US dollars per hour for the whole offer (all its GPUs). */
  price_per_hour: z.number().nonnegative(),
  location: z.string().nullable(),
  /** 0–1 as the marketplace scores the host; null when it keeps no score. */
  reliability: z.number().min(0).max(1).nullable(),
});
export type GpuOffer = z.infer<typeof gpuOffer>;

const positiveNumber = z.coerce.number().positive();

/** Vast.ai refuses a disk under 8 GB (create instance, `disk` min 8.0); io.net takes no disk size. */
export const gpuMinDiskGb = 8;
const diskGb = z.int().min(gpuMinDiskGb, `must be at least ${gpuMinDiskGb} GB (Vast.ai's minimum disk)`).max(10_000);

/** `GET /v1/gpu/offers` query; every filter is optional. */
export const gpuOfferQuery = z.object({
  gpu_model: z.string().min(1).max(100).optional(),
  gpu_count: z.coerce.number().int().min(1).max(64).optional(),
  max_price_per_hour: positiveNumber.optional(),
  /** Matches the offer's location, case-insensitively, anywhere in it (`US`, `Oslo`). */
  region: z.string().min(1).max(100).optional(),
  provider: gpuProvider.optional(),
  /** Disk the price is quoted for: Vast.ai's hourly price includes the storage asked for. */
  disk_gb: z.coerce.number().pipe(diskGb).default(20),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type GpuOfferQuery = z.infer<typeof gpuOfferQuery>;

export interface GpuOfferList {
  object: "list";
  /** Cheapest first. */
  data: GpuOffer[];
  /** Marketplaces that could not be searched; the list is then partial. */
  failed_providers: Array<{ provider: GpuProvider; code: string; message: string }>;
}

/** `POST /v1/gpu/instances`: rent the cheapest offer that fits, or exactly `offer_id`. */
export const createGpuInstanceRequest = z.strictObject({
  gpu_model: z.string().min(1).max(100),
  gpu_count: z.int().min(1).max(64).default(1),
  max_price_per_hour: z.number().positive(),
  /** Container image, e.g. `pytorch/pytorch:latest`. */
  image: z.string().min(1).max(500),
  disk_gb: diskGb.default(20),
  /** The container's one HTTP port: io.net requires it (health checks), Vast.ai exposes it. Default 8000. */
  http_port: z.int().min(1).max(65_535).optional(),
  region: z.string().min(1).max(100).optional(),
  /** Rent only from this marketplace: no fallback to the other. */
  provider: gpuProvider.optional(),
  /** An offer id from `GET /v1/gpu/offers`; implies its provider. */
  offer_id: z
    .string()
    .regex(/^(vastai|ionet):[A-Za-z0-9._:-]{1,200}$/, "must be an offer id from GET /v1/gpu/offers")
    .optional(),
  /** io.net deployments are prepaid for a duration; Vast.ai bills until deleted and ignores it. */
  duration_hours: z
    .int()
    .min(1)
    .max(24 * 30)
    .default(1),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be an environment variable name"), z.string().max(4096))
    .optional(),
});
export type CreateGpuInstanceRequest = z.infer<typeof createGpuInstanceRequest>;

/**
 * pending: nothing rented yet; provisioning → running while it boots and serves; degraded
 * (the marketplace lost touch, it reboots) and stopped (not running, still billed for disk
 * or GPU) are polled like any live state; terminating until the marketplace confirms the
 * destroy; terminated; failed only when nothing was rented.
 */
export const gpuInstanceStatuses = [
  "pending",
  "provisioning",
  "running",
  "degraded",
  "stopped",
  "terminating",
  "terminated",
  "failed",
] as const;
export type GpuInstanceStatus = (typeof gpuInstanceStatuses)[number];

export interface GpuInstanceTransition {
  from: GpuInstanceStatus | null;
  to: GpuInstanceStatus;
  reason: string;
  at: string;
}

export interface GpuInstance {
  id: string;
  object: "gpu.instance";
  provider: GpuProvider | null;
  provider_instance_id: string | null;
  status: GpuInstanceStatus;
  /** The marketplace's own word for the instance's state (Vast.ai `actual_status`, io.net `status`), as last seen. */
  provider_status: string | null;
  offer: GpuOffer | null;
  image: string;
  /** Why the instance failed or was given up, when it was. */
  failure: string | null;
  created_at: string;
  updated_at: string;
  /** Every status change, oldest first (on the single-instance view). */
  transitions?: GpuInstanceTransition[];
}

export interface GpuInstanceList {
  object: "list";
  data: GpuInstance[];
}
