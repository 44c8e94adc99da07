import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { MockBindings } from "../../../providers/mock/server.ts";
import { ionetLimits } from "../ionet/index.ts";
import type { IonetDeployment, IonetDeployRequest, IonetHardware, IonetLocationReplicas } from "../ionet/wire.ts";
import type { GpuFaultRunner } from "./faults.ts";
import { createMockLimits } from "./limits.ts";

type Env = { Bindings: MockBindings };

/** io.net's hardware as the mock lists it, with a price per GPU-hour. */
export const ionetMockHardware: Array<IonetHardware & { pricePerGpuHour: number }> = [
  {
    hardware_id: 101,
    hardware_name: "NVIDIA GeForce RTX 4090 24GB",
    brand_name: "NVIDIA",
    max_gpus_per_container: 8,
    available: 40,
    pricePerGpuHour: 0.4,
  },
  {
    hardware_id: 102,
    hardware_name: "NVIDIA H100 80GB HBM3",
    brand_name: "NVIDIA",
    max_gpus_per_container: 8,
    available: 16,
    pricePerGpuHour: 2.25,
  },
  {
    hardware_id: 103,
    hardware_name: "NVIDIA A100-SXM4 80GB",
    brand_name: "NVIDIA",
    max_gpus_per_container: 8,
    available: 0,
    pricePerGpuHour: 1.6,
  },
];

export const ionetMockLocations: IonetLocationReplicas[] = [
  { id: 1, iso2: "US", name: "United States", available_replicas: 5 },
  { id: 2, iso2: "DE", name: "Germany", available_replicas: 2 },
];

interface MockDeployment {
  id: string;
  name: string;
  hardwareName: string;
  createdAt: number;
  destroyed: boolean;
  /** Set by a test: what io.net reports instead of deployment requested/running. */
  status?: string;
}

const errorBody = (_status: number, message: string) => ({ detail: message });
/** FastAPI's 422 for a query or body that does not validate. */
const invalid = (field: string, message: string) =>
  Response.json({ detail: [{ loc: ["query", field], msg: message, type: "value_error" }] }, { status: 422 });

export interface IonetMock {
  app: Hono<Env>;
  instances(): number;
  setStatus(deploymentId: string, status: string | undefined): void;
  tooFrequent(): number;
}

/**
 * io.net's CaaS wire format under `/enterprise/v1/io-cloud/caas`, deployments in memory. It
 * validates what io.net documents as required (the price query, `traffic_port`) and pages
 * its listing from 0, oldest first.
 */
export function createIonetMockApp(
  faults: GpuFaultRunner,
  options: { now: () => number; bootMs: number; enforceLimits: boolean },
): IonetMock {
  const deployments = new Map<string, MockDeployment>();
  const limits = createMockLimits(options.enforceLimits ? ionetLimits : undefined, options.now);

  const view = (deployment: MockDeployment): IonetDeployment => {
    const running = options.now() - deployment.createdAt >= options.bootMs;
    const status = deployment.destroyed ? "destroyed" : (deployment.status ?? (running ? "running" : "deployment requested"));
    return {
      id: deployment.id,
      status,
      name: deployment.name,
      hardware_name: deployment.hardwareName,
      created_at: new Date(deployment.createdAt).toISOString(),
    };
  };

  const app = new Hono<Env>().basePath("/enterprise/v1/io-cloud/caas");
  app.use(async (c, next) => {
    if (!c.req.header("x-api-key")) return c.json(errorBody(401, "missing x-api-key"), 401);
    if (!limits.admit("api")) return c.json({ detail: "Too Many Requests" }, 429);
    return await next();
  });
  app.get("/hardware/max-gpus-per-container", (c) =>
    faults.run(c, "search", errorBody, () => {
      const hardware = ionetMockHardware.map(({ pricePerGpuHour: _, ...item }) => item);
      return Response.json({ data: { hardware, total: hardware.reduce((sum, item) => sum + item.available, 0) } });
    }),
  );
  app.get("/available-replicas", (c) => {
    const hardware = ionetMockHardware.find((item) => item.hardware_id === Number(c.req.query("hardware_id")));
    return c.json({ data: hardware && hardware.available > 0 ? ionetMockLocations : [] });
  });
  app.get("/price", (c) =>
    faults.run(c, "price", errorBody, () => {
      // caas/price-estimation: all five are required; location_ids is one JSON array.
      for (const field of ["location_ids", "hardware_id", "duration_hours", "gpus_per_container", "replica_count"]) {
        if (c.req.query(field) === undefined) return invalid(field, "Field required");
      }
      let locations: unknown;
      try {
        locations = JSON.parse(c.req.query("location_ids") ?? "");
      } catch {
        locations = undefined;
      }
      if (!Array.isArray(locations) || locations.length === 0) return invalid("location_ids", "list of ids in a form of json array");
      const hardware = ionetMockHardware.find((item) => item.hardware_id === Number(c.req.query("hardware_id")));
      if (!hardware) return Response.json(errorBody(404, "no such hardware"), { status: 404 });
      const gpus = Number(c.req.query("gpus_per_container"));
      const replicas = Number(c.req.query("replica_count"));
      const hours = Number(c.req.query("duration_hours"));
      const total = Math.round(hardware.pricePerGpuHour * gpus * replicas * hours * 100) / 100;
      return Response.json({
        data: {
          replica_count: replicas,
          gpus_per_container: gpus,
          available_replica_count: [5],
          discount: 0,
          ionet_fee: 0,
          ionet_fee_percent: 0,
          currency_conversion_fee: 0,
          currency_conversion_fee_percent: 0,
          total_cost_usdc: total,
        },
      });
    }),
  );
  app.post("/deploy", (c) =>
    faults.run(c, "create", errorBody, async () => {
      const body = (await c.req.json()) as Partial<IonetDeployRequest>;
      if (!body.resource_private_name || !body.registry_config?.image_url)
        return invalid("resource_private_name", "resource_private_name and registry_config.image_url are required");
      if (!Number.isInteger(body.container_config?.traffic_port))
        return invalid("traffic_port", "container_config.traffic_port is required");
      const hardware = ionetMockHardware.find((item) => item.hardware_id === body.hardware_id);
      if (!hardware || hardware.available === 0) return Response.json(errorBody(400, "hardware not available"), { status: 400 });
      // io.net names deployments by UUID; random ones keep mocks sharing a database apart.
      const deployment = {
        id: randomUUID(),
        name: body.resource_private_name,
        hardwareName: hardware.hardware_name,
        createdAt: options.now(),
        destroyed: false,
      };
      deployments.set(deployment.id, deployment);
      return Response.json({ status: "success", deployment_id: deployment.id });
    }),
  );
  app.get("/deployments", (c) =>
    faults.run(c, "list", errorBody, () => {
      const page = Number(c.req.query("page") ?? "0");
      const size = Number(c.req.query("page_size") ?? "10");
      if (!Number.isInteger(size) || size < 1 || size > 100) return invalid("page_size", "Input should be less than or equal to 100");
      const status = c.req.query("status");
      const all = [...deployments.values()].map(view).filter((deployment) => status === undefined || deployment.status === status);
      return Response.json({
        data: {
          deployments: all.slice(page * size, (page + 1) * size),
          total: all.length,
          statuses: ["running", "completed", "failed", "deployment requested", "termination requested", "destroyed"],
        },
      });
    }),
  );
  app.get("/deployment/:id", (c) =>
    faults.run(c, "get", errorBody, () => {
      const deployment = deployments.get(c.req.param("id"));
      return deployment
        ? Response.json({ data: view(deployment) })
        : Response.json(errorBody(404, "deployment not found"), { status: 404 });
    }),
  );
  app.delete("/deployment/:id", (c) =>
    faults.run(c, "destroy", errorBody, () => {
      const deployment = deployments.get(c.req.param("id"));
      if (!deployment) return Response.json(errorBody(404, "deployment not found"), { status: 404 });
      deployment.destroyed = true;
      return Response.json({ status: "success", deployment_id: deployment.id });
    }),
  );
  return {
    app,
    instances: () => [...deployments.values()].filter((deployment) => !deployment.destroyed).length,
    setStatus(deploymentId, status) {
      const deployment = deployments.get(deploymentId);
      if (deployment) deployment.status = status;
    },
    tooFrequent: () => limits.refused(),
  };
}
