/**
 * Vast.ai's REST API, the fields the gateway reads. Follows the OpenAPI files of
 * vast-ai/docs (api-reference/openapi/yaml/*.yaml, as of 2026-08) and the official client
 * vast-ai/vast-cli (vastai/api/offers.py, instances.py, query.py); base
 * `https://console.vast.ai`, `Authorization: Bearer <api key>`. Fixtures in
 * test/fixtures/vastai/ pin these shapes.
 */

/** A search filter, `{ field: { op: value } }` (search_offers.yaml: eq/neq/lt/lte/gt/gte/in/notin). */
export type VastFilter<T> = { eq?: T; lte?: T; gte?: T; in?: T[] };

/** `POST /api/v0/bundles/` (search_offers.yaml). */
export interface VastSearchRequest {
  limit: number;
  /** vast-cli sends `on-demand` (offers.py), as the OpenAPI example does. */
  type: "on-demand";
  /** The defaults of vast-cli's `search offers` (offers.py), kept explicit. */
  verified: { eq: true };
  external: { eq: false };
  rentable: { eq: true };
  rented: { eq: false };
  id?: VastFilter<number>;
  /** Exact names, as `gpu_names/unique/` lists them with `_` and `-` read as spaces (vast-cli query.py). */
  gpu_name?: VastFilter<string>;
  num_gpus?: VastFilter<number>;
  dph_total?: VastFilter<number>;
  /** Two-letter country codes. */
  geolocation?: VastFilter<string>;
  /** GB the host can give. */
  disk_space?: VastFilter<number>;
  /** GB of disk the price (`dph_total`) is quoted for; it is also the disk the create asks for. */
  allocated_storage: number;
  order: Array<[field: string, direction: "asc" | "desc"]>;
}

export interface VastOffer {
  /** The ask id: `PUT /api/v0/asks/{id}/` rents it. */
  id: number;
  gpu_name: string;
  num_gpus: number;
  /** Per GPU, in MB. */
  gpu_ram: number;
  /** Dollars per hour, all GPUs and `allocated_storage` included. */
  dph_total: number;
  /** `City, CC`. */
  geolocation: string | null;
  reliability?: number | null;
  reliability2?: number | null;
}

export interface VastSearchResponse {
  offers: VastOffer[];
}

/** `GET /api/v0/gpu_names/unique/`: the names offers use (vast-cli cli/util.py `_get_gpu_names`). */
export interface VastGpuNames {
  gpu_names: string[];
}

/** `PUT /api/v0/asks/{id}/` (create_instance.yaml); `label` is free text the instance keeps. */
export interface VastCreateRequest {
  image: string;
  /** GB; Vast.ai refuses less than 8. */
  disk: number;
  label: string;
  /** Environment variables, and `"-p 8000:8000": "1"` to expose a port (vast-cli utils.py `parse_env`). */
  env: Record<string, string>;
  /** `args` keeps the image's own entrypoint. */
  runtype: "args";
  /** Fail at once rather than queue when the host cannot start it now. */
  cancel_unavail: true;
}

/** 200 `{"success": true, "new_contract": 1234568}`; some refusals come as 2xx with `success: false`. */
export interface VastCreateResponse {
  success?: boolean;
  new_contract?: number;
  error?: string;
  msg?: string;
}

/**
 * `actual_status`: null (being provisioned), `loading`, `running`, `stopped` (disk billed),
 * `frozen` (GPU billed), `exited`, `rebooting`, `unknown` (no heartbeat), `offline`
 * (vast-ai/docs cli/reference/show-instance.mdx). `cur_state` is `unloaded` once destroyed.
 */
export interface VastInstance {
  id: number;
  label: string | null;
  actual_status: string | null;
  intended_status?: string | null;
  cur_state?: string | null;
}

/** `GET /api/v0/instances/{id}/` (show_instance.yaml): the one instance, or null. */
export interface VastInstanceResponse {
  instances: VastInstance | null;
}

/** `GET /api/v1/instances/` (show_instances.yaml): keyset pages of at most 25. */
export interface VastInstancePage {
  instances: VastInstance[];
  next_token?: string | null;
}

/** Vast.ai's error body: `{"success": false, "error": "invalid_args", "msg": "..."}`; a 429's is `{"detail": "..."}`. */
export interface VastErrorBody {
  success?: false;
  error?: string;
  msg?: string;
  detail?: string;
}
