/**
 * The GPU lifecycle that cannot leak money, end to end over the real database and the mock
 * marketplaces (which speak Vast.ai's and io.net's documented wire formats): states that
 * may still bill stay live, what Breakwater gives up on is destroyed until the marketplace
 * confirms, and the sweep destroys or adopts what no row tracks.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createGpuInstanceRequest, type GpuInstance, type GpuOffer, type GpuOfferList } from "../../shared/contract/gpu.ts";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import type { AuditInput } from "../../regional/audit/event.ts";
import { createGpuGuard } from "../../regional/gpu/guard.ts";
import { claimKey, requestHash } from "../../regional/gpu/idempotency.ts";
import { insertPendingInstance } from "../../regional/gpu/instance-store.ts";
import { labelFor } from "../../regional/gpu/label.ts";
import { createMockMarketplaces, type MockMarketplaces } from "../../regional/gpu/marketplaces/mock/index.ts";
import { createGpuService, type GpuService } from "../../regional/gpu/service.ts";
import type { CallContext } from "../../regional/providers/types.ts";
import { createTestApp, detailedHealth, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

let t: TestApp;
let mocks: MockMarketplaces;
/** Added to the GPU service's clock: how long ago things happened. */
let skewMs = 0;
const audited: AuditInput[] = [];
const giveUpAfterMs = 60_000;

beforeAll(async () => {
  mocks = createMockMarketplaces({ bootMs: 0 });
  t = await createTestApp(inject("primaryUrl"), {
    adminKey: testAdminKey,
    gpu: ({ db, logger, breakers }) =>
      createGpuService({
        db,
        logger,
        marketplaces: [mocks.vastai.marketplace, mocks.ionet.marketplace],
        guard: createGpuGuard({ breakers, timeoutMs: 10_000, attempts: 2, sleep: async () => {} }),
        createTimeoutMs: 1_000,
        reconcile: { lookups: 1, delayMs: 0 },
        stalePendingMs: 60_000,
        giveUpAfterMs,
        now: () => Date.now() + skewMs,
        audit: {
          append(input) {
            audited.push(input);
            return t.deps.audit.append(input);
          },
        },
      }),
  });
});
afterAll(async () => t?.close());
beforeEach(() => {
  mocks.vastai.faults.clear();
  mocks.ionet.faults.clear();
  skewMs = 0;
  audited.length = 0;
  for (const id of ["gpu:vastai", "gpu:ionet"]) {
    t.deps.router.breakers.force(id, "open");
    t.deps.router.breakers.force(id, null);
  }
});

const gpu = (): GpuService => {
  if (!t.deps.gpu) throw new Error("the test app has no GPU service");
  return t.deps.gpu;
};
const rtx = { gpu_model: "RTX 4090", gpu_count: 1, max_price_per_hour: 1, image: "pytorch/pytorch:latest" };
const context: CallContext = { signal: new AbortController().signal, requestId: "test" };
const create = async (body: unknown, key = randomUUID()): Promise<Response> =>
  await t.app.request(postJson("/v1/gpu/instances", body, t.apiKey, { "idempotency-key": key }));
const get = (path: string) => t.app.request(`http://regional.test${path}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
const remove = (path: string) =>
  t.app.request(`http://regional.test${path}`, { method: "DELETE", headers: { authorization: `Bearer ${t.apiKey}` } });
const instance = async (response: Response): Promise<GpuInstance> => (await response.json()) as GpuInstance;
const rowOf = async (id: string) =>
  (
    await t.db.write<
      Array<{ status: string; provider_status: string | null; failure: string | null; checked_at: Date | null }>
    >`select status, provider_status, failure, checked_at from gpu_instances where id = ${id}`
  )[0];
const vastOffer: GpuOffer = {
  id: "vastai:1001",
  provider: "vastai",
  gpu_model: "RTX 4090",
  gpu_count: 1,
  vram_gb: 24,
  price_per_hour: 0.35,
  location: "Oslo, NO",
  reliability: 0.995,
};
/** An instance made at Vast.ai behind the gateway's back, carrying `label`. */
const rentAtVast = async (label: string) =>
  (
    await mocks.vastai.marketplace.create(
      { offer: vastOffer, label, image: "x", diskGb: 20, durationHours: 1, httpPort: 8000, env: {} },
      context,
    )
  ).providerInstanceId;

async function created(body: unknown = rtx): Promise<GpuInstance> {
  const response = await create(body);
  expect(response.status).toBe(201);
  return await instance(response);
}

describe("marketplace states that may still bill stay live", () => {
  it("shows a Vast.ai heartbeat blip as degraded with Vast.ai's own word, keeps polling it, and sees it recover", async () => {
    const made = await created();
    const live = mocks.vastai.instances();
    mocks.vastai.setStatus(made.provider_instance_id ?? "", "unknown");
    const blip = await instance(await get(`/v1/gpu/instances/${made.id}`));
    expect(blip).toMatchObject({ status: "degraded", provider_status: "unknown", failure: null });
    mocks.vastai.setStatus(made.provider_instance_id ?? "", undefined);
    await gpu().refreshActive(1_000);
    const back = await instance(await get(`/v1/gpu/instances/${made.id}`));
    expect(back).toMatchObject({ status: "running", provider_status: "running" });
    expect(back.transitions?.map(({ to, reason }) => [to, reason])).toEqual([
      ["pending", "requested"],
      ["provisioning", "created at vastai"],
      ["degraded", "vastai reports unknown"],
      ["running", "vastai reports running"],
    ]);
    expect(mocks.vastai.instances()).toBe(live);
  });

  it("shows an exited container as stopped, then gives it up after the grace and destroys it, audited", async () => {
    const made = await created();
    mocks.vastai.setStatus(made.provider_instance_id ?? "", "exited");
    expect(await instance(await get(`/v1/gpu/instances/${made.id}`))).toMatchObject({ status: "stopped", provider_status: "exited" });
    const live = mocks.vastai.instances();
    await gpu().refreshActive(1_000);
    expect((await rowOf(made.id))?.status).toBe("stopped");

    skewMs = giveUpAfterMs + 1_000;
    await gpu().refreshActive(1_000);
    const ended = await instance(await get(`/v1/gpu/instances/${made.id}`));
    expect(ended.status).toBe("terminated");
    expect(ended.failure).toMatch(/^given up: stopped \(vastai reports exited\) for 1 min$/);
    expect(ended.transitions?.slice(-2).map(({ to, reason }) => [to, reason])).toEqual([
      ["terminating", ended.failure],
      ["terminated", "destroyed at vastai"],
    ]);
    expect(mocks.vastai.instances()).toBe(live - 1);
    expect(audited).toEqual([
      expect.objectContaining({
        actorType: "system",
        action: "gpu.instance_given_up",
        result: "success",
        resource: `gpu_instance:${made.id}`,
        tenantId: t.tenantId,
      }),
    ]);
    expect(gpu().health()).toMatchObject({ given_up: expect.any(Number), destroys_confirmed: expect.any(Number) });
  });

  it("keeps destroying a given-up instance every round until the marketplace confirms", async () => {
    const made = await created();
    mocks.vastai.setStatus(made.provider_instance_id ?? "", "offline");
    await gpu().refreshActive(1_000);
    mocks.vastai.faults.inject("destroy", { status: 503 });
    const failuresBefore = gpu().health().destroy_failures;
    skewMs = giveUpAfterMs + 1_000;
    await gpu().refreshActive(1_000);
    expect(await rowOf(made.id)).toMatchObject({
      status: "terminating",
      failure: expect.stringMatching(/^given up: degraded \(vastai reports offline\)/),
    });
    expect(gpu().health().destroy_failures).toBeGreaterThan(failuresBefore);
    const live = mocks.vastai.instances();

    await gpu().refreshActive(1_000);
    expect((await rowOf(made.id))?.status).toBe("terminating");
    mocks.vastai.faults.clear();
    t.deps.router.breakers.force("gpu:vastai", null);
    await gpu().refreshActive(1_000);
    expect((await rowOf(made.id))?.status).toBe("terminated");
    expect(mocks.vastai.instances()).toBe(live - 1);
  });

  it("gives up an io.net deployment io.net reports failed at once, and destroys it", async () => {
    const made = await created({ ...rtx, provider: "ionet" });
    const live = mocks.ionet.instances();
    mocks.ionet.setStatus(made.provider_instance_id ?? "", "failed");
    const ended = await instance(await get(`/v1/gpu/instances/${made.id}`));
    expect(ended).toMatchObject({ status: "terminated", failure: "given up: ionet reports failed", provider_status: "failed" });
    expect(mocks.ionet.instances()).toBe(live - 1);
  });

  it("answers a delete the marketplace cannot confirm with terminating, and the poller destroys it until it does", async () => {
    const made = await created();
    mocks.vastai.faults.inject("destroy", { status: 502 });
    const deleting = await remove(`/v1/gpu/instances/${made.id}`);
    expect(deleting.status).toBe(200);
    expect(await instance(deleting)).toMatchObject({ status: "terminating" });
    const live = mocks.vastai.instances();
    mocks.vastai.faults.clear();
    t.deps.router.breakers.force("gpu:vastai", null);
    await gpu().refreshActive(1_000);
    expect((await rowOf(made.id))?.status).toBe("terminated");
    expect(mocks.vastai.instances()).toBe(live - 1);
  });

  it("ends the row, as terminated and not failed, when the marketplace no longer knows the instance", async () => {
    const made = await created();
    await mocks.vastai.marketplace.destroy(made.provider_instance_id ?? "", context);
    expect(await instance(await get(`/v1/gpu/instances/${made.id}`))).toMatchObject({
      status: "terminated",
      failure: "gone at the provider",
    });
  });

  it("gives every live instance its turn, however small the poller's batch", async () => {
    const [first, second] = [await created(), await created()];
    await t.db.write`update gpu_instances set checked_at = now() where status <> 'provisioning'`;
    await gpu().refreshActive(1);
    await gpu().refreshActive(1);
    expect((await rowOf(first?.id ?? ""))?.checked_at).not.toBeNull();
    expect((await rowOf(second?.id ?? ""))?.checked_at).not.toBeNull();
  });
});

describe("the sweep", () => {
  it("destroys an instance under this region's label that no row owns, audited, and leaves other labels alone", async () => {
    const orphan = labelFor("local", randomUUID());
    await rentAtVast(orphan);
    await rentAtVast(labelFor("eu", randomUUID()));
    await rentAtVast(`bw-local-west-${randomUUID()}`);
    await rentAtVast("someone-elses-training-run");
    const live = mocks.vastai.instances();
    const reports = await gpu().sweep();
    expect(reports.find((report) => report.provider === "vastai")).toMatchObject({ destroyed: 1, adopted: 0 });
    expect(mocks.vastai.instances()).toBe(live - 1);
    expect(audited).toEqual([
      expect.objectContaining({
        actorType: "system",
        action: "gpu.orphan_destroyed",
        result: "success",
        metadata: expect.objectContaining({ provider: "vastai", reason: "no record of the instance" }),
      }),
    ]);
    // The event is in the hash-chained audit log itself.
    await t.deps.audit.flush();
    const [logged] = await t.db.write<
      Array<{ count: number }>
    >`select count(*)::int as count from audit_log where action = 'gpu.orphan_destroyed'`;
    expect(logged?.count).toBeGreaterThan(0);
    expect(((await (await detailedHealth(t)).json()) as { gpu: { orphans_destroyed: number } }).gpu.orphans_destroyed).toBeGreaterThan(0);
  });

  it("destroys a create that went through at one marketplace after the gateway rented at the other", async () => {
    mocks.vastai.faults.inject("create", { status: 503, times: 1 });
    const made = await created();
    expect(made.provider).toBe("ionet");
    // Vast.ai made it after all (its answer said otherwise): the same label, no row tracking it.
    await rentAtVast(labelFor("local", made.id));
    const live = { vast: mocks.vastai.instances(), ionet: mocks.ionet.instances() };
    await gpu().sweep();
    expect(mocks.vastai.instances()).toBe(live.vast - 1);
    expect(mocks.ionet.instances()).toBe(live.ionet);
    expect(audited.map((event) => [event.action, event.resource])).toEqual([["gpu.orphan_destroyed", `gpu_instance:${made.id}`]]);
    expect((await rowOf(made.id))?.status).toBe("provisioning");
  });

  it("adopts what a lost create made once its row is stale, and the key answers with it", async () => {
    const request = createGpuInstanceRequest.parse(rtx);
    const id = randomUUID();
    const key = randomUUID();
    await t.db.transaction(t.tenantId, async (tx) => {
      await claimKey(tx, t.tenantId, key, requestHash("POST", "/v1/gpu/instances", request), id, 3_600_000);
      await insertPendingInstance(tx, t.tenantId, id, labelFor("local", id), request);
    });
    const providerId = await rentAtVast(labelFor("local", id));
    const live = mocks.vastai.instances();
    // A create in flight is left alone.
    await gpu().sweep();
    expect((await rowOf(id))?.status).toBe("pending");
    expect(mocks.vastai.instances()).toBe(live);

    skewMs = 120_000;
    const reports = await gpu().sweep();
    expect(reports.find((report) => report.provider === "vastai")).toMatchObject({ adopted: 1, destroyed: 0 });
    expect(await rowOf(id)).toMatchObject({ status: "provisioning" });
    expect(audited).toEqual([expect.objectContaining({ action: "gpu.orphan_adopted", resource: `gpu_instance:${id}` })]);
    const replay = await create(rtx, key);
    expect(replay.status).toBe(201);
    expect(await instance(replay)).toMatchObject({ id, provider: "vastai", provider_instance_id: providerId });
    expect(mocks.vastai.instances()).toBe(live);
  });

  it("destroys a second instance carrying the label of a row that already ended", async () => {
    const made = await created();
    expect((await remove(`/v1/gpu/instances/${made.id}`)).status).toBe(200);
    await rentAtVast(labelFor("local", made.id));
    const live = mocks.vastai.instances();
    await gpu().sweep();
    expect(mocks.vastai.instances()).toBe(live - 1);
    expect(audited[0]?.metadata).toMatchObject({ reason: "its record is terminated" });
  });

  it("skips a marketplace it cannot list rather than guess, and sweeps the others", async () => {
    const orphans = [await rentAtVast(labelFor("local", randomUUID()))];
    mocks.vastai.faults.inject("list", { status: 503 });
    const failures = gpu().health().sweep_failures;
    const live = mocks.vastai.instances();
    const reports = await gpu().sweep();
    expect(reports).toEqual([
      { provider: "vastai", listed: null, destroyed: 0, adopted: 0 },
      { provider: "ionet", listed: expect.any(Number), destroyed: 0, adopted: 0 },
    ]);
    expect(mocks.vastai.instances()).toBe(live);
    expect(gpu().health().sweep_failures).toBe(failures + 1);
    expect(orphans).toHaveLength(1);
  });
});

describe("prices, disks and refusals", () => {
  it("refuses a disk under Vast.ai's 8 GB minimum with a 400 naming disk_gb", async () => {
    for (const response of [await create({ ...rtx, disk_gb: 4 }), await get("/v1/gpu/offers?disk_gb=4")]) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error).toMatchObject({
        code: "invalid_request",
        param: "disk_gb",
        message: expect.stringContaining("at least 8 GB"),
      });
    }
  });

  it("quotes offers for the disk asked for, and holds a create's price limit to that price", async () => {
    const priced = async (disk: number) =>
      ((await (await get(`/v1/gpu/offers?gpu_model=rtx-4090&gpu_count=1&provider=vastai&disk_gb=${disk}`)).json()) as GpuOfferList).data[0]
        ?.price_per_hour;
    expect(await priced(20)).toBe(0.35);
    expect(await priced(500)).toBe(0.45);
    // 0.45/h with 500 GB is over 0.42: io.net (no disk price) rents it instead.
    const made = await created({ ...rtx, max_price_per_hour: 0.42, disk_gb: 500 });
    expect(made).toMatchObject({ provider: "ionet", offer: { price_per_hour: 0.4 } });
  });

  it("moves a create refused for billing to the other marketplace at once, never retrying it, and cools only its searches and creates", async () => {
    // A service of its own: the cool-down must not reach the other tests.
    const own = createMockMarketplaces({ bootMs: 0 });
    const service = createGpuService({
      db: t.db,
      logger: t.deps.logger,
      marketplaces: [own.vastai.marketplace, own.ionet.marketplace],
      guard: createGpuGuard({ breakers: t.deps.router.breakers, timeoutMs: 10_000, attempts: 3, sleep: async () => {} }),
      reconcile: { lookups: 1, delayMs: 0 },
    });
    own.vastai.faults.inject("create", {
      times: 1,
      status: 402,
      body: { success: false, error: "insufficient_credit", msg: "Your account balance is too low to rent this instance." },
    });
    const request = createGpuInstanceRequest.parse(rtx);
    const { response } = await service.create(
      t.tenantId,
      randomUUID(),
      requestHash("POST", "/v1/gpu/instances", request),
      request,
      "req-billing",
    );
    expect(response.status).toBe(201);
    expect(response.headers["x-breakwater-provider"]).toBe("ionet");
    expect(own.vastai.faults.calls("create")).toBe(1);
    expect(own.vastai.instances()).toBe(0);

    const searches = own.vastai.faults.calls("search");
    const offers = await service.offers({ gpu_model: "RTX 4090", disk_gb: 20, limit: 50 }, "req-offers", new AbortController().signal);
    expect(offers.failed_providers).toEqual([
      { provider: "vastai", code: "unavailable", message: expect.stringContaining("cannot serve now") },
    ]);
    expect(own.vastai.faults.calls("search")).toBe(searches);
    expect(service.health().cooling_down).toEqual([
      { provider: "vastai", until: expect.any(String), reason: expect.stringContaining("balance is too low") },
    ]);

    // Looking at and destroying what is rented goes on while it cools.
    await own.vastai.marketplace.create(
      { offer: vastOffer, label: labelFor("local", randomUUID()), image: "x", diskGb: 20, durationHours: 1, httpPort: 8000, env: {} },
      context,
    );
    await service.sweep();
    expect(own.vastai.instances()).toBe(0);
  });
});
