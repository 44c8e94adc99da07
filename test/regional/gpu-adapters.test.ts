/**
 * Contract tests of the marketplace adapters, one or more per endpoint, against answers
 * taken from each marketplace's own documentation (test/fixtures/*\/SOURCES.md names the
 * file each comes from):
 * - Vast.ai: the OpenAPI files of vast-ai/docs (api-reference/openapi/yaml/search_offers,
 *   create_instance, show_instance, show_instances, destroy_instance; rate-limits-and-errors.mdx;
 *   cli/reference/show-instance.mdx) and the official client vast-ai/vast-cli
 *   (vastai/api/offers.py, instances.py, query.py; cli/util.py).
 * - io.net: io.net/docs/reference/caas (price-estimation, deploy-a-container,
 *   get-all-deployments) and the example bodies of ionet-official/docs openapi/*.json.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { gpuOffer, type GpuOffer } from "../../shared/contract/gpu.ts";
import { GatewayError } from "../../shared/error.ts";
import { createIonetMarketplace } from "../../regional/gpu/marketplaces/ionet/index.ts";
import { ionetStatus } from "../../regional/gpu/marketplaces/ionet/status.ts";
import { createVastAiMarketplace, type VastAiOptions } from "../../regional/gpu/marketplaces/vastai/index.ts";
import { vastStatus } from "../../regional/gpu/marketplaces/vastai/status.ts";
import type { MarketplaceQuery } from "../../regional/gpu/marketplace.ts";
import { isNotSent } from "../../regional/gpu/not-sent.ts";
import { definitelyRefused, nothingMade } from "../../regional/gpu/provider-errors.ts";
import type { Transport, UpstreamRequest } from "../../regional/providers/http.ts";
import type { CallContext } from "../../regional/providers/types.ts";

const fixture = async (path: string): Promise<unknown> =>
  JSON.parse(await readFile(new URL(`../fixtures/${path}`, import.meta.url), "utf8"));
const context: CallContext = { signal: new AbortController().signal, requestId: "req-1" };

interface Answer {
  file?: string;
  body?: unknown;
  status?: number;
}

/** Answers each request from `route(request)` (a fixture or a body); anything unrouted is a 404. */
function transportOf(route: (request: UpstreamRequest, url: URL) => Answer | undefined): { transport: Transport; seen: UpstreamRequest[] } {
  const seen: UpstreamRequest[] = [];
  const transport: Transport = async (request) => {
    seen.push(request);
    const answer = route(request, new URL(request.url));
    const body = answer === undefined ? { detail: "Not Found" } : answer.file ? await fixture(answer.file) : answer.body;
    return { status: answer ? (answer.status ?? 200) : 404, header: () => null, json: async () => body, body: (async function* () {})() };
  };
  return { transport, seen };
}

/** Routes by `METHOD /path`; a list is answered in order, its last entry repeating. */
function fixtureTransport(routes: Record<string, Answer | Answer[]>): { transport: Transport; seen: UpstreamRequest[] } {
  const used = new Map<string, number>();
  return transportOf((request, url) => {
    const key = `${request.method} ${url.pathname}`;
    const entry = routes[key];
    if (!Array.isArray(entry)) return entry;
    const index = used.get(key) ?? 0;
    used.set(key, index + 1);
    return entry[Math.min(index, entry.length - 1)];
  });
}

/** A clock that `sleep` moves forward: pacing waits are recorded, never slept. */
function fakeClock(start = 1_000_000) {
  const clock = { now: start, sleeps: [] as number[] };
  return {
    clock,
    pacing: (maxWaitMs: number) => ({
      maxWaitMs,
      now: () => clock.now,
      sleep: async (ms: number) => {
        clock.sleeps.push(ms);
        clock.now += ms;
      },
    }),
  };
}

const bodyOf = (request: UpstreamRequest | undefined): unknown => JSON.parse(typeof request?.body === "string" ? request.body : "null");
const query = (overrides: Partial<MarketplaceQuery>): MarketplaceQuery => ({ disk_gb: 20, limit: 50, ...overrides });
const errorOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );
const vastOfferFor = (id: number): GpuOffer => ({
  id: `vastai:${id}`,
  provider: "vastai",
  gpu_model: "RTX 4090",
  gpu_count: 1,
  vram_gb: 24,
  price_per_hour: 0.35,
  location: null,
  reliability: null,
});
const spec = (offer: GpuOffer) => ({
  offer,
  label: "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59",
  image: "pytorch/pytorch:latest",
  diskGb: 40,
  durationHours: 3,
  httpPort: 8000,
  env: { HF_TOKEN: "x" },
});

describe("Vast.ai adapter", () => {
  const base = "https://console.vast.ai/api/v0";
  const vast = (transport: Transport, extra: Partial<VastAiOptions> = {}) =>
    createVastAiMarketplace({ baseUrl: base, apiKey: "vk", transport, pacing: false, ...extra });

  it("searches with server-side filters: exact GPU names from the catalog, country codes, count, price and disk", async () => {
    const { transport, seen } = fixtureTransport({
      "GET /api/v0/gpu_names/unique/": { file: "vastai/gpu-names.json" },
      "POST /api/v0/bundles/": { file: "vastai/search-offers.json" },
    });
    const offers = await vast(transport).searchOffers(
      query({ gpu_model: "H100", gpu_count: 1, max_price_per_hour: 3, region: "us", disk_gb: 40 }),
      context,
    );
    expect(seen.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      "GET /api/v0/gpu_names/unique/",
      "POST /api/v0/bundles/",
    ]);
    expect(seen[1]?.headers.authorization).toBe("Bearer vk");
    // search_offers.yaml operators; vast-cli's default filters; `_`/`-` read as spaces as vast-cli's query.py does.
    expect(bodyOf(seen[1])).toEqual({
      limit: 50,
      type: "on-demand",
      verified: { eq: true },
      external: { eq: false },
      rentable: { eq: true },
      rented: { eq: false },
      gpu_name: { in: ["H100-SXM", "H100 SXM", "H100 PCIE", "H100 NVL"] },
      num_gpus: { eq: 1 },
      dph_total: { lte: 3 },
      geolocation: { in: ["US"] },
      disk_space: { gte: 40 },
      allocated_storage: 40,
      order: [["dph_total", "asc"]],
    });
    expect(offers).toEqual([
      {
        id: "vastai:12345678",
        provider: "vastai",
        gpu_model: "RTX 4090",
        gpu_count: 1,
        vram_gb: 24,
        price_per_hour: 0.3467,
        location: "Oslo, NO",
        reliability: 0.9951,
      },
      {
        id: "vastai:23456789",
        provider: "vastai",
        gpu_model: "H100 SXM",
        gpu_count: 2,
        vram_gb: 80,
        price_per_hour: 2.1534,
        location: "Virginia, US",
        reliability: 0.9987,
      },
    ]);
    for (const offer of offers) expect(gpuOffer.parse(offer)).toEqual(offer);
  });

  it("quotes prices for the disk asked for: allocated_storage is the request's disk_gb", async () => {
    const { transport, seen } = fixtureTransport({ "POST /api/v0/bundles/": { file: "vastai/search-offers.json" } });
    await vast(transport).searchOffers(query({ disk_gb: 200 }), context);
    expect(bodyOf(seen[0])).toMatchObject({ allocated_storage: 200, disk_space: { gte: 200 } });
  });

  it("searches nothing when Vast.ai has no GPU of that name, and keeps the name catalog for a day", async () => {
    let now = 0;
    const { transport, seen } = fixtureTransport({
      "GET /api/v0/gpu_names/unique/": { file: "vastai/gpu-names.json" },
      "POST /api/v0/bundles/": { file: "vastai/search-offers.json" },
    });
    const marketplace = vast(transport, { now: () => now });
    expect(await marketplace.searchOffers(query({ gpu_model: "TPU v5" }), context)).toEqual([]);
    await marketplace.searchOffers(query({ gpu_model: "RTX 4090" }), context);
    now += 24 * 3_600_000 + 1;
    await marketplace.searchOffers(query({ gpu_model: "RTX 4090" }), context);
    expect(seen.map((request) => new URL(request.url).pathname)).toEqual([
      "/api/v0/gpu_names/unique/",
      "/api/v0/bundles/",
      "/api/v0/gpu_names/unique/",
      "/api/v0/bundles/",
    ]);
  });

  it("sends a free-text region nowhere (it is matched locally) and pins an offer id server-side", async () => {
    const { transport, seen } = fixtureTransport({ "POST /api/v0/bundles/": { file: "vastai/search-offers.json" } });
    await vast(transport).searchOffers(query({ region: "Oslo" }), context);
    await vast(transport).searchOffers(query({ offer_id: "vastai:12345678" }), context);
    expect(bodyOf(seen[0])).not.toHaveProperty("geolocation");
    expect(bodyOf(seen[1])).toMatchObject({ id: { eq: 12345678 } });
    expect(await vast(transport).searchOffers(query({ offer_id: "ionet:1-2-3" }), context)).toEqual([]);
  });

  it("rents an ask with the label, the disk, the exposed port and the image's own entrypoint", async () => {
    const { transport, seen } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/create-instance.json" } });
    expect(await vast(transport).create(spec(vastOfferFor(12345678)), context)).toEqual({ providerInstanceId: "1234568" });
    // create_instance.yaml body; the port as vast-cli's parse_env writes `-p 8000:8000`.
    expect(bodyOf(seen[0])).toEqual({
      image: "pytorch/pytorch:latest",
      disk: 40,
      label: "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59",
      env: { HF_TOKEN: "x", "-p 8000:8000": "1" },
      runtype: "args",
      cancel_unavail: true,
    });
  });

  it("takes a 2xx with success: false as a refusal, never as an instance named 'undefined'", async () => {
    const { transport } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/create-success-false.json", status: 200 } });
    const failure = await errorOf(vast(transport).create(spec(vastOfferFor(12345678)), context));
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({
      code: "invalid_request",
      upstreamStatus: 400,
      message: "error 400/3467: Invalid args: 'id' is required and must be a valid offer ID",
    });
    expect(definitelyRefused(failure)).toBe(true);
  });

  it("takes a yes without an instance id as ambiguous: the create is reconciled, not repeated or refused", async () => {
    const { transport } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { body: { success: true } } });
    const failure = await errorOf(vast(transport).create(spec(vastOfferFor(12345678)), context));
    expect(failure).toMatchObject({ code: "upstream_error" });
    expect(nothingMade(failure)).toBe(false);
  });

  it("reads a gone offer (410) as a refusal to move on from", async () => {
    const { transport } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/error-no-such-ask.json", status: 410 } });
    const failure = await errorOf(vast(transport).create(spec(vastOfferFor(12345678)), context));
    expect(failure).toMatchObject({ upstreamStatus: 410, message: expect.stringContaining("no longer available") });
    expect(nothingMade(failure)).toBe(true);
  });

  it("reads a 429's {detail} and holds the endpoint back for its interval, Vast.ai sending no Retry-After", async () => {
    const { clock, pacing } = fakeClock();
    const { transport, seen } = fixtureTransport({
      "PUT /api/v0/asks/12345678/": [{ file: "vastai/error-too-frequent.json", status: 429 }, { file: "vastai/create-instance.json" }],
    });
    const marketplace = vast(transport, { pacing: pacing(5_000) });
    const failure = await errorOf(marketplace.create(spec(vastOfferFor(12345678)), context));
    expect(failure).toMatchObject({
      code: "rate_limited",
      upstreamStatus: 429,
      retryAfterS: 1,
      message: "vastai is rate limiting: API requests too frequent endpoint threshold=4.5",
    });
    await marketplace.create(spec(vastOfferFor(12345678)), context);
    expect(clock.sleeps).toEqual([1_000]);
    expect(seen).toHaveLength(2);
  });

  it("maps a billing refusal to 'cannot serve now': 402, never retried, a long Retry-After", async () => {
    for (const status of [402, 400]) {
      const { transport } = fixtureTransport({ "PUT /api/v0/asks/12345678/": { file: "vastai/error-insufficient-credit.json", status } });
      const failure = await errorOf(vast(transport, { billingCoolDownS: 600 }).create(spec(vastOfferFor(12345678)), context));
      expect(failure).toMatchObject({ code: "unavailable", upstreamStatus: 402, retry: false, retryAfterS: 600 });
      expect((failure as GatewayError).message).toContain("balance is too low");
    }
  });

  it("keeps every billing or recoverable actual_status live; only a released contract ends an instance", () => {
    const expected: Array<[string | null, string]> = [
      [null, "provisioning"],
      ["loading", "provisioning"],
      ["created", "provisioning"],
      ["scheduling", "provisioning"],
      ["running", "running"],
      ["rebooting", "degraded"],
      ["unknown", "degraded"],
      ["offline", "degraded"],
      ["stopped", "stopped"],
      ["frozen", "stopped"],
      ["exited", "stopped"],
      ["something-new", "degraded"],
    ];
    for (const [actual, status] of expected)
      expect([actual, vastStatus({ id: 1, label: null, actual_status: actual, cur_state: "running" })]).toEqual([actual, status]);
    expect(vastStatus({ id: 1, label: null, actual_status: "exited", cur_state: "unloaded" })).toBe("terminated");
  });

  it("shows one instance with its own status word, and none for an unknown id", async () => {
    const { transport } = fixtureTransport({
      "GET /api/v0/instances/883/": { file: "vastai/show-instance.json" },
      "GET /api/v0/instances/999/": { file: "vastai/show-instance-null.json" },
    });
    expect(await vast(transport).get("883", context)).toEqual({
      providerInstanceId: "883",
      label: "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59",
      status: "running",
      rawStatus: "running",
    });
    expect(await vast(transport).get("999", context)).toBeUndefined();
  });

  it("finds an instance by label with the v1 listing's server-side filter", async () => {
    const label = "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59";
    const { transport, seen } = fixtureTransport({ "GET /api/v1/instances/": { file: "vastai/instances-v1.json" } });
    expect(await vast(transport).findByLabel(label, context)).toEqual({
      providerInstanceId: "1234568",
      label,
      status: "provisioning",
      rawStatus: "loading",
    });
    const url = new URL(seen[0]?.url ?? "");
    expect(`${url.origin}${url.pathname}`).toBe("https://console.vast.ai/api/v1/instances/");
    expect(JSON.parse(url.searchParams.get("select_filters") ?? "")).toEqual({ label: { eq: label } });
    expect(url.searchParams.get("limit")).toBe("25");
  });

  it("lists every instance under a label prefix across keyset pages", async () => {
    const { transport, seen } = fixtureTransport({
      "GET /api/v1/instances/": [{ file: "vastai/instances-v1.json" }, { file: "vastai/instances-v1-last-page.json" }],
    });
    const listed = await vast(transport).listLabelled("bw-local-", context);
    expect(listed.map(({ providerInstanceId, status, rawStatus }) => ({ providerInstanceId, status, rawStatus }))).toEqual([
      { providerInstanceId: "1234568", status: "provisioning", rawStatus: "loading" },
      { providerInstanceId: "1234999", status: "stopped", rawStatus: "exited" },
    ]);
    const second = new URL(seen[1]?.url ?? "").searchParams;
    expect(second.get("after_token")).toBe("eyJ2YWx1ZXMiOiB7ImlkIjogMTIzfX0=");
    expect(JSON.parse(second.get("select_cols") ?? "")).toEqual(["id", "label", "actual_status", "intended_status", "cur_state"]);
  });

  it("destroys an instance, and counts an unknown one as destroyed", async () => {
    const { transport, seen } = fixtureTransport({
      "DELETE /api/v0/instances/883/": { file: "vastai/destroy-instance.json" },
      "DELETE /api/v0/instances/999/": { file: "vastai/error-destroy-not-found.json", status: 404 },
    });
    await expect(vast(transport).destroy("883", context)).resolves.toBeUndefined();
    await expect(vast(transport).destroy("999", context)).resolves.toBeUndefined();
    expect(seen.map((request) => request.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("does not take a destroy answered success: false as done", async () => {
    const { transport } = fixtureTransport({
      "DELETE /api/v0/instances/883/": { body: { success: false, error: "invalid_args", msg: "invalid instance_id" } },
    });
    await expect(vast(transport).destroy("883", context)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("paces each endpoint to its published limit: show-instance 2 a second, search 10 a minute", async () => {
    const { clock, pacing } = fakeClock();
    const { transport, seen } = fixtureTransport({
      "GET /api/v0/instances/883/": { file: "vastai/show-instance.json" },
      "POST /api/v0/bundles/": { file: "vastai/search-offers.json" },
    });
    const marketplace = vast(transport, { pacing: pacing(5_000) });
    for (let n = 0; n < 3; n++) await marketplace.get("883", context);
    expect(clock.sleeps).toEqual([500, 500]);
    clock.sleeps.length = 0;
    for (let n = 0; n < 10; n++) await marketplace.searchOffers(query({}), context);
    expect(clock.sleeps).toEqual([]);
    // The 11th search within the minute would wait 6 s, past the 5 s allowed: refused here, never sent.
    const refused = await errorOf(marketplace.searchOffers(query({}), context));
    expect(refused).toMatchObject({ code: "rate_limited", retryAfterS: 6 });
    expect(isNotSent(refused)).toBe(true);
    expect(seen.filter((request) => request.method === "POST")).toHaveLength(10);
  });
});

describe("io.net adapter", () => {
  const base = "https://api.io.solutions/enterprise/v1/io-cloud/caas";
  const path = (name: string) => `/enterprise/v1/io-cloud/caas${name}`;
  const routes: Record<string, Answer> = {
    [`GET ${path("/hardware/max-gpus-per-container")}`]: { file: "ionet/max-gpus-per-container.json" },
    [`GET ${path("/available-replicas")}`]: { file: "ionet/available-replicas.json" },
    [`GET ${path("/price")}`]: { file: "ionet/price.json" },
    [`POST ${path("/deploy")}`]: { file: "ionet/deploy.json" },
    [`GET ${path("/deployment/5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e")}`]: { file: "ionet/deployment.json" },
    [`DELETE ${path("/deployment/5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e")}`]: { file: "ionet/destroy.json" },
  };
  const ionet = (transport: Transport) => createIonetMarketplace({ baseUrl: base, apiKey: "ik", transport, pacing: false });
  const ionetOffer: GpuOffer = {
    id: "ionet:217-15-2",
    provider: "ionet",
    gpu_model: "H100 HBM3",
    gpu_count: 2,
    vram_gb: 80,
    price_per_hour: 4.52,
    location: null,
    reliability: null,
  };

  it("prices with the documented query: duration_hours, and location_ids as one JSON-array string", async () => {
    const { transport, seen } = fixtureTransport(routes);
    const offers = await ionet(transport).searchOffers(query({ gpu_model: "H100", gpu_count: 2 }), context);
    expect(seen.every((request) => request.headers["x-api-key"] === "ik")).toBe(true);
    expect(offers).toEqual([
      {
        id: "ionet:217-15-2",
        provider: "ionet",
        gpu_model: "H100 HBM3",
        gpu_count: 2,
        vram_gb: 80,
        price_per_hour: 4.52,
        location: "United States, US",
        reliability: null,
      },
    ]);
    for (const offer of offers) expect(gpuOffer.parse(offer)).toEqual(offer);
    const price = new URL(seen.find((request) => request.url.includes("/price"))?.url ?? "http://x").searchParams;
    // caas/price-estimation: exactly these five; no duration_type/duration_qty, no repeated location_ids.
    expect([...price.keys()].sort()).toEqual(["duration_hours", "gpus_per_container", "hardware_id", "location_ids", "replica_count"]);
    expect(price.getAll("location_ids")).toEqual(["[15]"]);
    expect(Object.fromEntries(price)).toEqual({
      location_ids: "[15]",
      hardware_id: "217",
      duration_hours: "1",
      gpus_per_container: "2",
      replica_count: "1",
    });
  });

  it("drops only the offers of a hardware type whose price call failed", async () => {
    const { transport } = transportOf((request, url) => {
      if (url.pathname.endsWith("/price") && url.searchParams.get("hardware_id") === "208")
        return { status: 500, body: { detail: "price service down" } };
      return routes[`${request.method} ${url.pathname}`];
    });
    const offers = await ionet(transport).searchOffers(query({ gpu_count: 1 }), context);
    expect(offers.map((offer) => offer.id)).toEqual(["ionet:217-15-1"]);
  });

  it("fails the search only when no hardware type could be priced", async () => {
    const { transport } = transportOf((request, url) =>
      url.pathname.endsWith("/price") ? { file: "ionet/error-validation.json", status: 422 } : routes[`${request.method} ${url.pathname}`],
    );
    await expect(ionet(transport).searchOffers(query({ gpu_count: 1 }), context)).rejects.toMatchObject({
      code: "invalid_request",
      upstreamStatus: 422,
      message: "Field required",
    });
  });

  it("deploys named by the label, with container_config.traffic_port (one HTTP port, required)", async () => {
    const { transport, seen } = fixtureTransport(routes);
    expect(await ionet(transport).create(spec(ionetOffer), context)).toEqual({
      providerInstanceId: "5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e",
    });
    expect(bodyOf(seen[0])).toEqual({
      resource_private_name: "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59",
      duration_hours: 3,
      gpus_per_container: 2,
      hardware_id: 217,
      location_ids: [15],
      container_config: { replica_count: 1, traffic_port: 8000, env_variables: { HF_TOKEN: "x" } },
      registry_config: { image_url: "pytorch/pytorch:latest" },
    });
  });

  it("finds a deployment by label over every page from page 0, live statuses only, no undocumented sort", async () => {
    const item =
      ((await fixture("ionet/deployments.json")) as { data: { deployments: Array<Record<string, unknown>> } }).data.deployments[1] ?? {};
    const label = "bw-local-0b9c2f7e-3c1a-4f55-9a8e-6f1d2c3b4a59";
    const running = [
      ...Array.from({ length: 100 }, (_, n) => ({ ...item, id: `other-${n}`, name: `cluster-${n}` })),
      { ...item, id: "5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e", name: label },
    ];
    const { transport, seen } = transportOf((_request, url) => {
      if (!url.pathname.endsWith("/deployments")) return undefined;
      const page = Number(url.searchParams.get("page"));
      const list = url.searchParams.get("status") === "running" ? running : [];
      return { body: { data: { deployments: list.slice(page * 100, (page + 1) * 100), total: list.length, statuses: [] } } };
    });
    expect(await ionet(transport).findByLabel(label, context)).toEqual({
      providerInstanceId: "5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e",
      label,
      status: "running",
      rawStatus: "running",
    });
    const asked = seen.map((request) => Object.fromEntries(new URL(request.url).searchParams));
    expect(asked).toEqual([
      { status: "deployment requested", page: "0", page_size: "100" },
      { status: "running", page: "0", page_size: "100" },
      { status: "running", page: "1", page_size: "100" },
    ]);
  });

  it("shows and destroys a deployment; an unknown one is gone", async () => {
    const { transport } = fixtureTransport(routes);
    expect(await ionet(transport).get("5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e", context)).toMatchObject({
      status: "running",
      rawStatus: "running",
    });
    expect(await ionet(transport).get("gone", context)).toBeUndefined();
    await expect(ionet(transport).destroy("5d0b6a3e-97a2-4c7f-8d8e-1f2a3b4c5d6e", context)).resolves.toBeUndefined();
    await expect(ionet(transport).destroy("gone", context)).resolves.toBeUndefined();
  });

  it("maps every CaaSResourceStatus, and watches an unknown word instead of ending the instance", () => {
    expect(
      ["deployment requested", "running", "termination requested", "destroyed", "completed", "failed", "paused"].map(ionetStatus),
    ).toEqual(["provisioning", "running", "terminating", "terminated", "terminated", "failed", "degraded"]);
  });
});
