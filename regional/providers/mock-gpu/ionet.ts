import { Hono } from "hono";
import type { IonetDeployment, IonetDeployRequest, IonetHardware, IonetLocationReplicas } from "../ionet/wire.ts";
import type { MockBindings } from "../mock/server.ts";
import type { GpuFaultRunner } from "./faults.ts";

type Env = { Bindings: MockBindings };

/** io.net's hardware as the mock lists it, with a price per GPU-hour. */
export const ionetMockHardware: Array<IonetHardware & { pricePerGpuHour: number }> = [
  { hardware_id: 101, hardware_name: "NVIDIA GeForce RTX 4090 24GB", brand_name: "NVIDIA", max_gpus_per_container: 8, available: 40, pricePerGpuHour: 0.4 },
  { hardware_id: 102, hardware_name: "NVIDIA H100 80GB HBM3", brand_name: "NVIDIA", max_gpus_per_container: 8, available: 16, pricePerGpuHour: 2.25 },
  { hardware_id: 103, hardware_name: "NVIDIA A100-SXM4 80GB", brand_name: "NVIDIA", max_gpus_per_container: 8, available: 0, pricePerGpuHour: 1.6 },
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
}

const errorBody = (_status: number, message: string) => ({ detail: message });

/** io.net's CaaS wire format under `/enterprise/v1/io-cloud/caas`, deployments in memory. */
export function createIonetMockApp(faults: GpuFaultRunner, options: { now: () => number; bootMs: number }): { app: Hono<Env>; instances(): number } {
  const deployments = new Map<string, MockDeployment>();
  let next = 1;

  const view = (deployment: MockDeployment): IonetDeployment => {
    const running = options.now() - deployment.createdAt >= options.bootMs;
    const status = deployment.destroyed ? "destroyed" : running ? "running" : "deployment requested";
    return { id: deployment.id, status, name: deployment.name, hardware_name: deployment.hardwareName, created_at: new Date(deployment.createdAt).toISOString() };
  };

  const app = new Hono<Env>().basePath("/enterprise/v1/io-cloud/caas");
  app.use(async (c, next) => {
    if (!c.req.header("x-api-key")) return c.json(errorBody(401, "missing x-api-key"), 401);
    return await next();
  });
  app.get("/hardware/max-gpus-per-container", (c) =>
    faults.run(c, "search", errorBody, () => {
      const hardware = ionetMockHardware.map(({ pricePerGpuHour: _, ...listed }) => listed);
      return Response.json({ data: { hardware, total: hardware.reduce((sum, item) => sum + item.available, 0) } });
    }),
  );
  app.get("/available-replicas", (c) => {
    const hardware = ionetMockHardware.find((item) => item.hardware_id === Number(c.req.query("hardware_id")));
    return c.json({ data: hardware && hardware.available > 0 ? ionetMockLocations : [] });
  });
  app.get("/price", (c) => {
    const hardware = ionetMockHardware.find((item) => item.hardware_id === Number(c.req.query("hardware_id")));
    if (!hardware) return c.json(errorBody(404, "no such hardware"), 404);
    const gpus = Number(c.req.query("gpus_per_container") ?? "1");
    const replicas = Number(c.req.query("replica_count") ?? "1");
    const hours = Number(c.req.query("duration_qty") ?? "1");
    return c.json({ data: { replica_count: replicas, gpus_per_container: gpus, available_replica_count: [5], discount: 0, ionet_fee: 0, ionet_fee_percent: 0, currency_conversion_fee: 0, currency_conversion_fee_percent: 0, total_cost_usdc: Math.round(hardware.pricePerGpuHour * gpus * replicas * hours * 100) / 100 } });
  });
  app.post("/deploy", (c) =>
    faults.run(c, "create", errorBody, async () => {
      const body = (await c.req.json()) as Partial<IonetDeployRequest>;
      const hardware = ionetMockHardware.find((item) => item.hardware_id === body.hardware_id);
      if (!hardware || hardware.available === 0) return Response.json(errorBody(400, "hardware not available"), { status: 400 });
      if (!body.resource_private_name || !body.registry_config?.image_url) return Response.json(errorBody(422, "resource_private_name and registry_config.image_url are required"), { status: 422 });
      const deployment = { id: `dep-${String(next++).padStart(6, "0")}`, name: body.resource_private_name, hardwareName: hardware.hardware_name, createdAt: options.now(), destroyed: false };
      deployments.set(deployment.id, deployment);
      return Response.json({ status: "success", deployment_id: deployment.id });
    }),
  );
  app.get("/deployments", (c) =>
    faults.run(c, "list", errorBody, () => {
      const list = [...deployments.values()].reverse().map(view);
      return Response.json({ data: { deployments: list, total: list.length, statuses: ["running", "completed", "failed", "deployment requested", "termination requested", "destroyed"] } });
    }),
  );
  app.get("/deployment/:id", (c) =>
    faults.run(c, "get", errorBody, () => {
      const deployment = deployments.get(c.req.param("id"));
      return deployment ? Response.json({ data: view(deployment) }) : Response.json(errorBody(404, "deployment not found"), { status: 404 });
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
  return { app, instances: () => [...deployments.values()].filter((deployment) => !deployment.destroyed).length };
}
