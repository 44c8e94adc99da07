import { Hono } from "hono";
import type { MockBindings } from "../mock/server.ts";
import type { VastCreateRequest, VastInstance, VastOffer, VastSearchRequest } from "../vastai/wire.ts";
import type { GpuFaultRunner } from "./faults.ts";

type Env = { Bindings: MockBindings };

/** What the mock rents out: a few hosts, prices in the range Vast.ai lists. */
export const vastMockOffers: VastOffer[] = [
  { id: 1001, gpu_name: "RTX 4090", num_gpus: 1, gpu_ram: 24_564, dph_total: 0.35, geolocation: "Oslo, NO", reliability: 0.995 },
  { id: 1002, gpu_name: "RTX 4090", num_gpus: 2, gpu_ram: 24_564, dph_total: 0.72, geolocation: "Texas, US", reliability: 0.981 },
  { id: 1003, gpu_name: "H100 SXM", num_gpus: 1, gpu_ram: 81_559, dph_total: 2.1, geolocation: "Virginia, US", reliability: 0.999 },
  { id: 1004, gpu_name: "A100 PCIE", num_gpus: 4, gpu_ram: 40_960, dph_total: 3.2, geolocation: "Hesse, DE", reliability: 0.972 },
];

interface MockVastInstance {
  id: number;
  label: string;
  createdAt: number;
}

const errorBody = (status: number, message: string) => ({ success: false, error: status === 404 ? "no_such_instance" : "mock_error", msg: message });

/** Vast.ai's wire format under `/api/v0`, instances in memory, booting for `bootMs`. */
export function createVastMockApp(faults: GpuFaultRunner, options: { now: () => number; bootMs: number }): { app: Hono<Env>; instances(): number } {
  const instances = new Map<number, MockVastInstance>();
  let nextId = 7_000_000;

  const view = (instance: MockVastInstance): VastInstance => {
    const running = options.now() - instance.createdAt >= options.bootMs;
    return { id: instance.id, label: instance.label, actual_status: running ? "running" : "loading", intended_status: "running", cur_state: "running" };
  };

  const app = new Hono<Env>().basePath("/api/v0");
  app.use(async (c, next) => {
    if (!/^Bearer \S+/.test(c.req.header("authorization") ?? "")) return c.json(errorBody(401, "missing api key"), 401);
    return await next();
  });
  app.post("/bundles/", (c) =>
    faults.run(c, "search", errorBody, async () => {
      const query = (await c.req.json()) as Partial<VastSearchRequest>;
      const offers = vastMockOffers
        .filter((offer) => query.num_gpus === undefined || offer.num_gpus === query.num_gpus.eq)
        .filter((offer) => query.dph_total === undefined || offer.dph_total <= query.dph_total.lte)
        .sort((a, b) => a.dph_total - b.dph_total)
        .slice(0, query.limit ?? 64);
      return Response.json({ offers });
    }),
  );
  app.put("/asks/:id/", (c) =>
    faults.run(c, "create", errorBody, async () => {
      const ask = Number(c.req.param("id"));
      if (!vastMockOffers.some((offer) => offer.id === ask)) return Response.json(errorBody(404, `no such ask ${ask}`), { status: 404 });
      const body = (await c.req.json()) as Partial<VastCreateRequest>;
      if (typeof body.image !== "string" || body.image === "") return Response.json(errorBody(400, "image is required"), { status: 400 });
      const instance = { id: nextId++, label: body.label ?? "", createdAt: options.now() };
      instances.set(instance.id, instance);
      return Response.json({ success: true, new_contract: instance.id });
    }),
  );
  app.get("/instances/", (c) => faults.run(c, "list", errorBody, () => Response.json({ instances: [...instances.values()].map(view) })));
  app.get("/instances/:id/", (c) =>
    faults.run(c, "get", errorBody, () => {
      const instance = instances.get(Number(c.req.param("id")));
      return instance ? Response.json({ instances: view(instance) }) : Response.json(errorBody(404, "no such instance"), { status: 404 });
    }),
  );
  app.delete("/instances/:id/", (c) =>
    faults.run(c, "destroy", errorBody, () => {
      const deleted = instances.delete(Number(c.req.param("id")));
      return deleted ? Response.json({ success: true }) : Response.json(errorBody(404, "no such instance"), { status: 404 });
    }),
  );
  return { app, instances: () => instances.size };
}
