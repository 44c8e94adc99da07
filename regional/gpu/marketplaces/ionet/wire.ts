/**
 * io.net's IO Cloud container (CaaS) API, base
 * `https://api.io.solutions/enterprise/v1/io-cloud/caas`, `x-api-key: <api key>`. Follows
 * io.net's API reference (io.net/docs/reference/caas/*, OpenAPI 3.1 "IO API" 1.0, read
 * 2026-08; example bodies from ionet-official/docs openapi/*.json). Read answers wrap their
 * payload in `data`; deploy and delete answer `{status, deployment_id}`; errors are
 * FastAPI's `{"detail": ...}`. A deployment's `name` is the `resource_private_name` given at
 * deploy time: the gateway's label. Fixtures in test/fixtures/ionet/ pin these shapes.
 */

export interface IonetEnvelope<T> {
  data: T;
}

/** `GET /hardware/max-gpus-per-container`: what can be rented now (no query parameters). */
export interface IonetHardware {
  hardware_id: number;
  hardware_name: string;
  brand_name: string;
  max_gpus_per_container: number;
  available: number;
}

export interface IonetHardwareList {
  hardware: IonetHardware[];
  total: number;
}

/** `GET /available-replicas?hardware_id=&hardware_qty=`: where it can run. */
export interface IonetLocationReplicas {
  id: number;
  iso2: string;
  name: string;
  available_replicas: number;
}

/**
 * `GET /price?location_ids=[1,2]&hardware_id=&duration_hours=&gpus_per_container=&replica_count=`
 * (caas/price-estimation): `location_ids` is one JSON-array string; the cost is for the whole duration.
 */
export interface IonetPriceQuery {
  location_ids: string;
  hardware_id: string;
  duration_hours: string;
  gpus_per_container: string;
  replica_count: string;
}

export interface IonetPrice {
  replica_count: number;
  gpus_per_container: number;
  total_cost_usdc: number;
}

/** `POST /deploy` (caas/deploy-a-container): an HTTP server on exactly one port, health-checked there. */
export interface IonetDeployRequest {
  resource_private_name: string;
  duration_hours: number;
  gpus_per_container: number;
  hardware_id: number;
  location_ids: number[];
  container_config: { replica_count: number; traffic_port: number; env_variables?: Record<string, string> };
  registry_config: { image_url: string };
}

export interface IonetDeployResponse {
  status: string;
  deployment_id: string;
}

/** `deployment requested`, `running`, `termination requested`, `destroyed`, `completed`, `failed` (CaaSResourceStatus). */
export interface IonetDeployment {
  id: string;
  status: string;
  name?: string;
  hardware_name?: string;
  created_at?: string;
}

/** `GET /deployments?status=&page=&page_size=` (caas/get-all-deployments): pages from 0, at most 100 a page. */
export interface IonetDeploymentList {
  deployments: IonetDeployment[];
  total: number;
}
