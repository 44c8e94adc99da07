/**
 * The marketplace adapters against recorded-style answers (test/fixtures/vastai, ionet).
 * Vast.ai shapes follow docs.vast.ai/api-reference (search offers `POST /api/v0/bundles/`,
 * create instance `PUT /api/v0/asks/{id}/`, show instances `GET /api/v0/instances/`);
 * io.net's follow the IO Cloud CaaS API (`/enterprise/v1/io-cloud/caas`: hardware,
 * available-replicas, price, deploy, deployments, deployment/{id}).
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { gpuOffer } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Transport, UpstreamRequest } from "../../regional/providers/http.ts";
import { createIonetMarketplace } from "../../regional/providers/ionet/index.ts";
import { createVastAiMarketplace } from "../../regional/providers/vastai/index.ts";
import type { CallContext } from "../../regional/providers/types.ts";

const fixture = (path: string) => new URL(`../fixtures/${path}`, import.meta.url);
const context: CallContext = { signal: new AbortController().signal, requestId: "req-1" };

/** Answers `METHOD /path` with a fixture file; anything else is a 404. */
function fixtureTransport(routes: Record<string, { file: string; status?: number }>): { transport: Transport; seen: UpstreamRequest[] } {
  const seen: UpstreamRequest[] = [];
  const transport: Transport = async (request) => {
    seen.push(request);
    const route = routes[`${request.method} ${new URL(request.url).pathname}`];
    const text = route ? await readFile(fixture(route.file), "utf8") : '{"detail":"Not Found"}';
    return { status: route ? (route.status ?? 200) : 404, header: () => null, json: async () => JSON.parse(text) as unknown, body: (async function* () {})() };
  };
  return { transport, seen };
}

const bodyOf = (request: UpstreamRequest | undefined): unknown => JSON.parse(request?.body ?? "null");

describe("Vast.ai adapter", () => {
  const base = "https://console.vast.ai/api/v0";

  it("searches bundles with the query as Vast.ai filters and normalises the offers", async () => {
    const { transport, seen } = fixtureTransport({ "POST /api/v0/bundles/": { file: "vastai/search-offers.json" } });
    const offers = await createVastAiMarketplace({ baseUrl: base, apiKey: "vk", transport }).searchOffers({ gpu_count: 1, max_price_per_hour: 3, limit: 50 }, context);
    expect(seen[0]?.headers.authorization).toBe("Bearer vk");
    expect(bodyOf(seen[0])).toMatchObject({ type: "on-demand", rentable: { eq: true }, rented: { eq: false }, num_gpus: { eq: 1 }, dph_total: { lte: 3 }, order: [["dph_total", "asc"]] });
    expect(offers).toEqual([
      { id: "vastai:12345678", provider: "vastai", gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, price_per_hour: 0.3467, location: "Oslo, NO", reliability: 0.9951 },
      { id: "vastai:23456789", provider: "vastai", gpu_model: "H100 SXM", gpu_count: 2, vram_gb: 80, price_per_hour: 2.1534, location: "Virginia, US", reliability: 0.9987 },
    ]);
    for (const offer of offers) expect(gpuOffer.parse(offer)).toEqual(offer);
  });

  it("rents an ask with the gateway's id as label and reads back the new contract", async () => {
    const { transport, seen } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/create-instance.json" } });
    const vast = createVastAiMarketplace({ baseUrl: base, apiKey: "vk", transport });
    const offer = { id: "vastai:12345678", provider: "vastai" as const, gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, price_per_hour: 0.35, location: null, reliability: null };
    const created = await vast.create({ offer, label: "inst-1", image: "pytorch/pytorch:latest", diskGb: 40, durationHours: 1, env: { HF_TOKEN: "x" } }, context);
    expect(created).toEqual({ providerInstanceId: "1234568" });
    expect(seen[0]?.method).toBe("PUT");
    expect(bodyOf(seen[0])).toEqual({ image: "pytorch/pytorch:latest", disk: 40, label: "inst-1", env: { HF_TOKEN: "x" }, runtype: "args" });
  });

  it("finds an instance by its label among the account's instances", async () => {
    const { transport } = fixtureTransport({ "GET /api/v0/instances/": { file: "vastai/instances.json" } });
    const vast = createVastAiMarketplace({ baseUrl: base, apiKey: "vk", transport });
    expect(await vast.findByLabel("0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59", context)).toEqual({ providerInstanceId: "1234568", label: "0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59", status: "provisioning", rawStatus: "loading" });
    expect(await vast.findByLabel("not-there", context)).toBeUndefined();
  });

  it("turns Vast.ai's error answer into a client error, and a missing instance into none", async () => {
    const { transport } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/error-invalid-args.json", status: 400 } });
    const vast = createVastAiMarketplace({ baseUrl: base, apiKey: "vk", transport });
    const offer = { id: "vastai:12345678", provider: "vastai" as const, gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, price_per_hour: 0.35, location: null, reliability: null };
    const failure = await vast.create({ offer, label: "x", image: "i", diskGb: 10, durationHours: 1, env: {} }, context).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ code: "invalid_request", upstreamStatus: 400, message: "Offer 12345678 is no longer available." });
    expect(await vast.get("999", context)).toBeUndefined();
    await expect(vast.destroy("999", context)).resolves.toBeUndefined();
  });
});

describe("io.net adapter", () => {
  const base = "https://api.io.solutions/enterprise/v1/io-cloud/caas";
  const routes = {
    "GET /enterprise/v1/io-cloud/caas/hardware/max-gpus-per-container": { file: "ionet/max-gpus-per-container.json" },
    "GET /enterprise/v1/io-cloud/caas/available-replicas": { file: "ionet/available-replicas.json" },
    "GET /enterprise/v1/io-cloud/caas/price": { file: "ionet/price.json" },
    "POST /enterprise/v1/io-cloud/caas/deploy": { file: "ionet/deploy.json" },
    "GET /enterprise/v1/io-cloud/caas/deployments": { file: "ionet/deployments.json" },
    "GET /enterprise/v1/io-cloud/caas/deployment/5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e": { file: "ionet/deployment.json" },
  };

  it("prices matching hardware where replicas are available, one offer per location", async () => {
    const { transport, seen } = fixtureTransport(routes);
    const offers = await createIonetMarketplace({ baseUrl: base, apiKey: "ik", transport }).searchOffers({ gpu_model: "H100", gpu_count: 2, limit: 50 }, context);
    expect(seen.every((request) => request.headers["x-api-key"] === "ik")).toBe(true);
    expect(offers).toEqual([{ id: "ionet:217-15-2", provider: "ionet", gpu_model: "H100 HBM3", gpu_count: 2, vram_gb: 80, price_per_hour: 4.52, location: "United States, US", reliability: null }]);
    for (const offer of offers) expect(gpuOffer.parse(offer)).toEqual(offer);
    const price = new URL(seen.find((request) => request.url.includes("/price"))?.url ?? "http://x").searchParams;
    expect(Object.fromEntries(price)).toMatchObject({ hardware_id: "217", gpus_per_container: "2", duration_type: "hourly", duration_qty: "1", replica_count: "1", location_ids: "15" });
  });

  it("deploys named by the gateway's id and finds the deployment by that name", async () => {
    const { transport, seen } = fixtureTransport(routes);
    const ionet = createIonetMarketplace({ baseUrl: base, apiKey: "ik", transport });
    const offer = { id: "ionet:217-15-2", provider: "ionet" as const, gpu_model: "H100 HBM3", gpu_count: 2, vram_gb: 80, price_per_hour: 4.52, location: null, reliability: null };
    const label = "0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59";
    expect(await ionet.create({ offer, label, image: "pytorch/pytorch:latest", diskGb: 20, durationHours: 3, env: {} }, context)).toEqual({ providerInstanceId: "5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e" });
    expect(bodyOf(seen[0])).toEqual({ resource_private_name: label, duration_hours: 3, gpus_per_container: 2, hardware_id: 217, location_ids: [15], container_config: { replica_count: 1 }, registry_config: { image_url: "pytorch/pytorch:latest" } });
    expect(await ionet.findByLabel(label, context)).toMatchObject({ providerInstanceId: "5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e", status: "provisioning", rawStatus: "deployment requested" });
    expect(await ionet.get("5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e", context)).toMatchObject({ status: "running" });
    expect(await ionet.get("gone", context)).toBeUndefined();
  });
});
