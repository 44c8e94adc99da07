/**
 * Vast.ai's REST API (https://docs.vast.ai/api-reference, base `https://console.vast.ai/api/v0`,
 * `Authorization: Bearer <api key>`), the fields the gateway reads. Fixtures in
 * test/fixtures/vastai/ pin these shapes.
 */

/** `POST /bundles/`: filters as `{ field: { op: value } }`, ops eq/neq/lt/lte/gt/gte/in/notin. */
export interface VastSearchRequest {
  limit: number;
  type: "on-demand" | "bid" | "reserved";
  rentable: { eq: boolean };
  rented: { eq: boolean };
  num_gpus?: { eq: number };
  dph_total?: { lte: number };
  order: Array<[field: string, direction: "asc" | "desc"]>;
}

export interface VastOffer {
  /** The ask id: `PUT /asks/{id}/` rents it. */
  id: number;
  gpu_name: string;
  num_gpus: number;
  /** Per GPU, in MB. */
  gpu_ram: number;
  /** Dollars per hour, all GPUs and storage included. */
  dph_total: number;
  geolocation: string | null;
  reliability?: number | null;
  reliability2?: number | null;
}

export interface VastSearchResponse {
  offers: VastOffer[];
}

/** `PUT /asks/{id}/`. `label` is free text the instance keeps; the gateway puts its instance id there. */
export interface VastCreateRequest {
  image: string;
  disk: number;
  label: string;
  env: Record<string, string>;
  /** `args` keeps the image's own entrypoint. */
  runtype: "args";
}

export interface VastCreateResponse {
  success: boolean;
  new_contract: number;
}

export interface VastInstance {
  id: number;
  label: string | null;
  /** null while the machine is being set up, then `loading`, `running`, `exited`... */
  actual_status: string | null;
  intended_status: string | null;
  cur_state?: string | null;
}

/** `GET /instances/` lists them; `GET /instances/{id}/` has the one under the same key. */
export interface VastInstancesResponse {
  instances: VastInstance[] | VastInstance;
}

/** Vast.ai's error body: `{"success": false, "error": "invalid_args", "msg": "..."}`. */
export interface VastErrorBody {
  success: false;
  error: string;
  msg?: string;
}
