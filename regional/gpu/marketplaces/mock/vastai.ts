import { Hono } from "hono";
import type { MockBindings } from "../../../providers/mock/server.ts";
import { vastLimits } from "../vastai/index.ts";
import type { VastCreateRequest, VastInstance, VastOffer, VastSearchRequest, VastFilter } from "../vastai/wire.ts";
import type { GpuFaultRunner } from "./faults.ts";
import { createMockLimits, type MockLimits } from "./limits.ts";

type Env = { Bindings: MockBindings };

/** A host the mock rents out: the GPU price, and storage priced per GB-month as Vast.ai lists it. */
interface MockVastOffer extends Omit<VastOffer, "dph_total"> {
  dph_base: number;
  /** $/GB/month (search_offers.yaml `storage_cost`). */
  storage_cost: number;
  /** GB the host can give. */
  disk_space: number;
}

/** What the mock rents out: a few hosts, prices in the range Vast.ai lists. */
export const vastMockOffers: MockVastOffer[] = [
  {
    id: 1001,
    gpu_name: "RTX 4090",
    num_gpus: 1,
    gpu_ram: 24_564,
    dph_base: 0.3458,
    storage_cost: 0.15,
    disk_space: 500,
    geolocation: "Oslo, NO",
    reliability: 0.995,
  },
  {
    id: 1002,
    gpu_name: "RTX 4090",
    num_gpus: 2,
    gpu_ram: 24_564,
    dph_base: 0.7158,
    storage_cost: 0.15,
    disk_space: 1_000,
    geolocation: "Texas, US",
    reliability: 0.981,
  },
  {
    id: 1003,
    gpu_name: "H100 SXM",
    num_gpus: 1,
    gpu_ram: 81_559,
    dph_base: 2.0958,
    storage_cost: 0.15,
    disk_space: 2_000,
    geolocation: "Virginia, US",
    reliability: 0.999,
  },
  {
    id: 1004,
    gpu_name: "A100 PCIE",
    num_gpus: 4,
    gpu_ram: 40_960,
    dph_base: 3.1958,
    storage_cost: 0.15,
    disk_space: 40,
    geolocation: "Hesse, DE",
    reliability: 0.972,
  },
];

/** `gpu_names/unique/` lists more than is offered right now, in its own spelling. */
const mockGpuNames = ["RTX 4090", "RTX 3090", "H100 SXM", "H100 PCIE", "A100 PCIE", "A100_SXM4"];

/** The hourly price of an offer with `storage` GB: the GPU plus storage per hour (a 30-day month). */
export function vastMockPrice(offer: MockVastOffer, storage: number): number {
  return Math.round((offer.dph_base + (offer.storage_cost * storage) / (30 * 24)) * 10_000) / 10_000;
}

/** An offer as search lists it, priced for `storage` GB. */
function listed(offer: MockVastOffer, storage: number): VastOffer {
  const { id, gpu_name, num_gpus, gpu_ram, geolocation, reliability } = offer;
  return { id, gpu_name, num_gpus, gpu_ram, geolocation, reliability, dph_total: vastMockPrice(offer, storage) };
}

interface MockVastInstance {
  id: number;
  label: string;
  createdAt: number;
  /** Set by a test: what Vast.ai reports instead of loading/running. */
  actualStatus?: string;
}

const errorBody = (status: number, message: string) =>
  status === 429 ? { detail: message } : { success: false, error: status === 404 ? "not_found" : "mock_error", msg: message };

function passes<T extends string | number>(value: T, filter: VastFilter<T> | undefined): boolean {
  if (!filter) return true;
  if (filter.eq !== undefined && value !== filter.eq) return false;
  if (filter.in !== undefined && !filter.in.includes(value)) return false;
  if (filter.lte !== undefined && !(value <= filter.lte)) return false;
  if (filter.gte !== undefined && !(value >= filter.gte)) return false;
  return true;
}

const countryOf = (location: string | null) => (location ?? "").split(",").at(-1)?.trim() ?? "";

export interface VastMock {
  app: Hono<Env>;
  instances(): number;
  /** Makes the instance report `actualStatus` (`unknown`, `exited`...); undefined: back to booting and running. */
  setStatus(providerInstanceId: string, actualStatus: string | undefined): void;
  /** Calls answered 429 because they came faster than Vast.ai's published limits. */
  tooFrequent(): number;
}

/**
 * Vast.ai's wire format under `/api/v0` and `/api/v1`, instances in memory, booting for
 * `bootMs`. With `enforceLimits`, calls faster than the published limits get Vast.ai's 429.
 */
export function createVastMockApp(
  faults: GpuFaultRunner,
  options: { now: () => number; bootMs: number; enforceLimits: boolean },
): VastMock {
  const instances = new Map<number, MockVastInstance>();
  const limits: MockLimits = createMockLimits(options.enforceLimits ? vastLimits : undefined, options.now);
  // Contract ids as Vast.ai's look; a random start keeps mocks sharing a database apart.
  let nextId = 7_000_000 + Math.floor(Math.random() * 1_000_000) * 10;

  const view = (instance: MockVastInstance): VastInstance => {
    const running = options.now() - instance.createdAt >= options.bootMs;
    return {
      id: instance.id,
      label: instance.label,
      actual_status: instance.actualStatus ?? (running ? "running" : "loading"),
      intended_status: "running",
      cur_state: "running",
    };
  };

  const app = new Hono<Env>();
  app.use(async (c, next) => {
    if (!/^Bearer \S+/.test(c.req.header("authorization") ?? "")) return c.json(errorBody(401, "missing api key"), 401);
    return await next();
  });
  const limited = (endpoint: keyof typeof vastLimits) =>
    limits.admit(endpoint)
      ? undefined
      : Response.json({ detail: `API requests too frequent endpoint threshold=${endpoint}` }, { status: 429 });

  app.get("/api/v0/gpu_names/unique/", () => limited("gpuNames") ?? Response.json({ gpu_names: mockGpuNames }));
  app.post("/api/v0/bundles/", (c) =>
    faults.run(c, "search", errorBody, async () => {
      const refused = limited("search");
      if (refused) return refused;
      const query = (await c.req.json()) as Partial<VastSearchRequest>;
      const storage = query.allocated_storage ?? 8;
      const offers = vastMockOffers
        .filter((offer) => passes(offer.id, query.id) && passes(offer.gpu_name, query.gpu_name) && passes(offer.num_gpus, query.num_gpus))
        .filter((offer) => passes(countryOf(offer.geolocation), query.geolocation) && passes(offer.disk_space, query.disk_space))
        .map((offer) => listed(offer, storage))
        .filter((offer) => passes(offer.dph_total, query.dph_total))
        .sort((a, b) => a.dph_total - b.dph_total)
        .slice(0, query.limit ?? 64);
      return Response.json({ offers });
    }),
  );
  app.put("/api/v0/asks/:id/", (c) =>
    faults.run(c, "create", errorBody, async () => {
      const refused = limited("create");
      if (refused) return refused;
      const ask = Number(c.req.param("id"));
      if (!vastMockOffers.some((offer) => offer.id === ask))
        return Response.json(errorBody(404, `no_such_ask Instance type by id ${ask} is not available.`), { status: 404 });
      const body = (await c.req.json()) as Partial<VastCreateRequest>;
      if (typeof body.image !== "string" || body.image === "")
        return Response.json({ success: false, error: "invalid_args", msg: "image is required" }, { status: 400 });
      // create_instance.yaml x-input-validation: disk min 8.0.
      if (typeof body.disk !== "number" || body.disk < 8)
        return Response.json({ success: false, error: "invalid_args", msg: "disk must be at least 8 GB" }, { status: 400 });
      const instance = { id: nextId++, label: body.label ?? "", createdAt: options.now() };
      instances.set(instance.id, instance);
      return Response.json({ success: true, new_contract: instance.id });
    }),
  );
  app.get("/api/v1/instances/", (c) =>
    faults.run(c, "list", errorBody, () => {
      const refused = limited("list");
      if (refused) return refused;
      const filters = JSON.parse(c.req.query("select_filters") ?? "{}") as { label?: { eq?: string } };
      const size = Math.min(25, Number(c.req.query("limit") ?? "25"));
      const after = Number(c.req.query("after_token") ?? "0");
      const matching = [...instances.values()]
        .filter((instance) => instance.id > after && (filters.label?.eq === undefined || instance.label === filters.label.eq))
        .sort((a, b) => a.id - b.id);
      const page = matching.slice(0, size);
      const last = page.at(-1);
      return Response.json({
        success: true,
        instances_found: page.length,
        total_instances: matching.length,
        next_token: matching.length > size && last ? String(last.id) : null,
        instances: page.map(view),
      });
    }),
  );
  app.get("/api/v0/instances/:id/", (c) =>
    faults.run(c, "get", errorBody, () => {
      const refused = limited("show");
      if (refused) return refused;
      const instance = instances.get(Number(c.req.param("id")));
      return Response.json({ instances: instance ? view(instance) : null });
    }),
  );
  app.delete("/api/v0/instances/:id/", (c) =>
    faults.run(c, "destroy", errorBody, () => {
      const refused = limited("destroy");
      if (refused) return refused;
      const deleted = instances.delete(Number(c.req.param("id")));
      return deleted
        ? Response.json({ success: true, msg: "Instance destroyed successfully" })
        : Response.json(errorBody(404, "Instance not found"), { status: 404 });
    }),
  );
  return {
    app,
    instances: () => instances.size,
    setStatus(providerInstanceId, actualStatus) {
      const instance = instances.get(Number(providerInstanceId));
      if (instance) instance.actualStatus = actualStatus;
    },
    tooFrequent: () => limits.refused(),
  };
}
