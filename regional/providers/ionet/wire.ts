/**
 * io.net's IO Cloud container (CaaS) API, enterprise base
 * `https://api.io.solutions/enterprise/v1/io-cloud/caas`, `x-api-key: <api key>`
 * (docs: io.net "IO Cloud API" reference). Read answers wrap their payload in `data`;
 * create and delete answer `{status, deployment_id}`. A deployment's name is the
 * `resource_private_name` given at deploy time: the gateway puts its instance id there.
 * Fixtures in test/fixtures/ionet/ pin these shapes.
 */

export interface IonetEnvelope<T> {
  data: T;
}

/** `GET /hardware/max-gpus-per-container`: what can be rented now. */
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

/** `GET /price?...`: the cost of the deployment asked about (here: one replica for one hour). */
export interface IonetPrice {
  replica_count: number;
  gpus_per_container: number;
  total_cost_usdc: number;
}

/** `POST /deploy`. */
export interface IonetDeployRequest {
  resource_private_name: string;
  duration_hours: number;
  gpus_per_container: number;
  hardware_id: number;
  location_ids: number[];
  container_config: { replica_count: number; env_variables?: Record<string, string> };
  registry_config: { image_url: string };
}

export interface IonetDeployResponse {
  status: string;
  deployment_id: string;
}

/** `deployment requested`, `running`, `termination requested`, `destroyed`, `completed`, `failed`. */
export interface IonetDeployment {
  id: string;
  status: string;
  name?: string;
  hardware_name?: string;
  created_at?: string;
}

/** `GET /deployments?page=&page_size=`. */
export interface IonetDeploymentList {
  deployments: IonetDeployment[];
  total: number;
}
