import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { randomUUID } from "node:crypto";
import { createGpuInstanceRequest, type CreateGpuInstanceRequest, type GpuInstance, type GpuOfferList } from "../../shared/contract/gpu.ts";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import { createGpuGuard } from "../../regional/gpu/guard.ts";
import { claimKey, requestHash } from "../../regional/gpu/idempotency.ts";
import { insertPendingInstance } from "../../regional/gpu/instance-store.ts";
import { labelFor } from "../../regional/gpu/label.ts";
import { startGpuPoller } from "../../regional/gpu/poller.ts";
import { createGpuService } from "../../regional/gpu/service.ts";
import { createMockMarketplaces, type MockMarketplaces } from "../../regional/gpu/marketplaces/mock/index.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

let t: TestApp;
let mocks: MockMarketplaces;
/** Added to the GPU service's clock, to make a pending create look abandoned. */
let skewMs = 0;
/** How long a duplicate waits for the first request's answer before a 409. */
let idempotencyWaitMs = 15_000;
/** While set, the next create at Vast.ai waits for `release` before it reaches the marketplace: a create still in flight. */
let vastCreateHold: { entered: () => void; release: Promise<void> } | undefined;

beforeAll(async () => {
  // Instances run as soon as they exist, so one status refresh shows them running.
  mocks = createMockMarketplaces({ bootMs: 0 });
  const vastai = mocks.vastai.marketplace;
  const heldVastai: typeof vastai = {
    ...vastai,
    async create(spec, context) {
      const hold = vastCreateHold;
      vastCreateHold = undefined;
      if (hold) {
        hold.entered();
        await hold.release;
      }
      return await vastai.create(spec, context);
    },
  };
  t = await createTestApp(inject("primaryUrl"), {
    replicaServerUrl: inject("replicaUrl"),
    gpu: ({ db, logger, breakers }) =>
      createGpuService({
        db,
        logger,
        marketplaces: [heldVastai, mocks.ionet.marketplace],
        guard: createGpuGuard({ breakers, timeoutMs: 10_000, attempts: 2, sleep: async () => {} }),
        createTimeoutMs: 1_000,
        reconcile: { lookups: 2, delayMs: 0 },
        idempotency: {
          ttlMs: 3_600_000,
          get waitMs() {
            return idempotencyWaitMs;
          },
          pollMs: 20,
        },
        stalePendingMs: 60_000,
        now: () => Date.now() + skewMs,
      }),
  });
});
afterAll(async () => t?.close());
beforeEach(() => {
  mocks.vastai.faults.clear();
  mocks.ionet.faults.clear();
  skewMs = 0;
  idempotencyWaitMs = 15_000;
  vastCreateHold = undefined;
  // Each test starts with closed breakers and no failures counted.
  for (const id of ["gpu:vastai", "gpu:ionet"]) {
    t.deps.router.breakers.force(id, "open");
    t.deps.router.breakers.force(id, null);
  }
});

let keys = 0;
const freshKey = () => `key-${Date.now()}-${++keys}`;
const rtx = { gpu_model: "RTX 4090", gpu_count: 1, max_price_per_hour: 1, image: "pytorch/pytorch:latest" };
const create = (body: unknown, key: string | null = freshKey(), apiKey = t.apiKey) =>
  t.app.request(postJson("/v1/gpu/instances", body, apiKey, key === null ? {} : { "idempotency-key": key }));
const get = (path: string, apiKey = t.apiKey) =>
  t.app.request(`http://regional.test${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
const remove = (path: string) =>
  t.app.request(`http://regional.test${path}`, { method: "DELETE", headers: { authorization: `Bearer ${t.apiKey}` } });
const live = () => mocks.vastai.instances() + mocks.ionet.instances();

/** The API reads a replica: waits until it has replayed the instance at `status`. */
async function untilReplicaHas(id: string, status: GpuInstance["status"]): Promise<void> {
  await vi.waitFor(
    async () => {
      const [row] = await (await t.db.read())<{ status: string }[]>`select status from gpu_instances where id = ${id}`;
      expect(row?.status).toBe(status);
    },
    { timeout: 10_000, interval: 50 },
  );
}

async function expectError(response: Response, status: number, code: string, param?: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toMatchObject({
    code,
    type: expect.any(String),
    message: expect.any(String),
    request_id: response.headers.get("x-request-id"),
  });
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body;
}

/** What a process that died between claiming a key and hearing from any marketplace leaves: the claim and the pending row. */
async function leaveInterruptedCreate(request: CreateGpuInstanceRequest, key: string, id: string): Promise<void> {
  await t.db.transaction(t.tenantId, async (tx) => {
    await claimKey(tx, t.tenantId, key, requestHash("POST", "/v1/gpu/instances", request), id, 3_600_000);
    await insertPendingInstance(tx, t.tenantId, id, labelFor("local", id), request);
  });
}

describe("GET /v1/gpu/offers", () => {
  it("lists both marketplaces' offers in one shape, cheapest first", async () => {
    const response = await get("/v1/gpu/offers?gpu_model=rtx-4090&gpu_count=1");
    expect(response.status).toBe(200);
    const list = (await response.json()) as GpuOfferList;
    expect(list.failed_providers).toEqual([]);
    expect(new Set(list.data.map((offer) => offer.provider))).toEqual(new Set(["vastai", "ionet"]));
    expect(list.data.every((offer) => offer.gpu_model === "RTX 4090" && offer.gpu_count === 1 && offer.vram_gb === 24)).toBe(true);
    expect(list.data.map((offer) => offer.price_per_hour)).toEqual(
      [...list.data.map((offer) => offer.price_per_hour)].sort((a, b) => a - b),
    );
    expect(list.data[0]).toEqual({
      id: "vastai:1001",
      provider: "vastai",
      gpu_model: "RTX 4090",
      gpu_count: 1,
      vram_gb: 24,
      price_per_hour: 0.35,
      location: "Oslo, NO",
      reliability: 0.995,
    });
  });

  it("answers with the other marketplace's offers and names the one that failed", async () => {
    mocks.vastai.faults.inject("search", { status: 503 });
    const response = await get("/v1/gpu/offers?gpu_model=H100");
    expect(response.status).toBe(200);
    const list = (await response.json()) as GpuOfferList;
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data.every((offer) => offer.provider === "ionet")).toBe(true);
    expect(list.failed_providers).toEqual([{ provider: "vastai", code: "upstream_error", message: expect.stringContaining("503") }]);
  });

  it("rejects a bad filter with a 400 naming it", async () => {
    await expectError(await get("/v1/gpu/offers?gpu_count=0"), 400, "invalid_request", "gpu_count");
  });
});

describe("POST /v1/gpu/instances", () => {
  it("requires an Idempotency-Key", async () => {
    await expectError(await create(rtx, null), 400, "invalid_request", "Idempotency-Key");
  });

  it("rejects a bad body with a 400 naming the field", async () => {
    await expectError(await create({ ...rtx, image: "" }), 400, "invalid_request", "image");
    await expectError(await create({ ...rtx, gpus: 2 }), 400, "invalid_request");
  });

  it("rents the cheapest matching offer, and the same key and body get the same answer", async () => {
    const before = live();
    const key = freshKey();
    const first = await create(rtx, key);
    expect(first.status).toBe(201);
    expect(first.headers.get("x-breakwater-provider")).toBe("vastai");
    const instance = (await first.json()) as GpuInstance;
    expect(instance).toMatchObject({
      object: "gpu.instance",
      provider: "vastai",
      status: "provisioning",
      offer: { id: "vastai:1001", price_per_hour: 0.35 },
    });

    const again = await create(rtx, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("x-breakwater-provider")).toBe("vastai");
    expect(await again.json()).toEqual(instance);
    expect(live()).toBe(before + 1);
  });

  it("refuses the same key with another body (422)", async () => {
    const key = freshKey();
    expect((await create(rtx, key)).status).toBe(201);
    await expectError(await create({ ...rtx, max_price_per_hour: 2 }, key), 422, "idempotency_key_reused", "Idempotency-Key");
  });

  it("makes exactly one instance for 20 concurrent duplicates", async () => {
    const before = live();
    const [{ count: rowsBefore } = { count: 0 }] = await t.db.write<
      { count: number }[]
    >`select count(*)::int as count from gpu_instances where tenant_id = ${t.tenantId}`;
    const key = freshKey();
    const responses = await Promise.all(Array.from({ length: 20 }, () => create(rtx, key)));
    const bodies = await Promise.all(
      responses.map(async (response) => ({ status: response.status, body: (await response.json()) as GpuInstance })),
    );
    expect(bodies.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    expect(new Set(bodies.map((answer) => answer.body.id)).size).toBe(1);
    expect(live()).toBe(before + 1);
    const [{ count: rowsAfter } = { count: 0 }] = await t.db.write<
      { count: number }[]
    >`select count(*)::int as count from gpu_instances where tenant_id = ${t.tenantId}`;
    expect(rowsAfter).toBe(rowsBefore + 1);
  });

  it("answers a duplicate 409 with Retry-After while the first is still creating, then replays the first's answer", async () => {
    const before = live();
    const key = freshKey();
    let entered = () => {};
    const reached = new Promise<void>((resolve) => (entered = resolve));
    let release = () => {};
    vastCreateHold = { entered, release: new Promise<void>((resolve) => (release = resolve)) };
    const first = create(rtx, key);
    try {
      await reached;
      idempotencyWaitMs = 100;
      const duplicate = await create(rtx, key);
      await expectError(duplicate, 409, "conflict", "Idempotency-Key");
      expect(duplicate.headers.get("retry-after")).toBe("1");
    } finally {
      release();
    }

    const created = await first;
    expect(created.status).toBe(201);
    expect(created.headers.get("idempotent-replayed")).toBeNull();
    const instance = (await created.json()) as GpuInstance;
    const retried = await create(rtx, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retried.json()) as GpuInstance).id).toBe(instance.id);
    expect(live()).toBe(before + 1);
  });

  it("falls back to the other marketplace when the cheaper one fails with 5xx", async () => {
    mocks.vastai.faults.inject("create", { status: 503, times: 1 });
    const vastBefore = mocks.vastai.instances();
    const response = await create(rtx);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-breakwater-provider")).toBe("ionet");
    expect(response.headers.get("x-breakwater-attempts")).toBe("2");
    const instance = (await response.json()) as GpuInstance;
    expect(instance).toMatchObject({ provider: "ionet", offer: { provider: "ionet", gpu_model: "RTX 4090" } });
    expect(instance.transitions?.at(-1)).toMatchObject({ from: "pending", to: "provisioning", reason: "created at ionet" });
    expect(mocks.vastai.instances()).toBe(vastBefore);
  });

  it("falls back when the cheaper marketplace's breaker is open", async () => {
    t.deps.router.breakers.force("gpu:vastai", "open");
    try {
      const vastCalls = mocks.vastai.faults.calls("create");
      const response = await create(rtx);
      expect(response.status).toBe(201);
      expect(response.headers.get("x-breakwater-provider")).toBe("ionet");
      expect(mocks.vastai.faults.calls("create")).toBe(vastCalls);
    } finally {
      t.deps.router.breakers.force("gpu:vastai", null);
    }
  });

  it("adopts the instance a timed-out create made instead of creating another", async () => {
    // Vast.ai makes the instance, then answers after the gateway's 1 s deadline.
    mocks.vastai.faults.inject("create", { answerDelayMs: 5_000, times: 1 });
    const before = { vast: mocks.vastai.instances(), ionet: mocks.ionet.instances() };
    const response = await create(rtx);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-breakwater-provider")).toBe("vastai");
    const instance = (await response.json()) as GpuInstance;
    expect(instance.transitions?.at(-1)?.reason).toMatch(/^adopted from vastai by label after: vastai did not answer within 1000 ms/);
    expect(mocks.vastai.instances()).toBe(before.vast + 1);
    expect(mocks.ionet.instances()).toBe(before.ionet);
    expect(mocks.vastai.faults.calls("create")).toBeGreaterThan(0);
  });

  it("keeps an instance pending, and creates nowhere else, when a lost create cannot be looked up", async () => {
    mocks.vastai.faults.inject("create", { answerDelayMs: 5_000, times: 1 });
    mocks.vastai.faults.inject("list", { status: 503 });
    const before = { vast: mocks.vastai.instances(), ionet: mocks.ionet.instances() };
    const response = await create(rtx);
    expect(response.status).toBe(202);
    const pending = (await response.json()) as GpuInstance;
    expect(pending).toMatchObject({ status: "pending", provider: "vastai", provider_instance_id: null });
    expect(mocks.vastai.instances()).toBe(before.vast + 1);
    expect(mocks.ionet.instances()).toBe(before.ionet);

    // Five failures (the create, four look-ups) opened Vast.ai's breaker; an operator closes it again.
    expect(t.deps.router.breakers.list().find((breaker) => breaker.id === "gpu:vastai")?.state.status).toBe("open");
    t.deps.router.breakers.force("gpu:vastai", null);
    mocks.vastai.faults.clear();
    const adopted = (await (await get(`/v1/gpu/instances/${pending.id}`)).json()) as GpuInstance;
    expect(adopted).toMatchObject({ status: "provisioning", provider: "vastai", provider_instance_id: expect.any(String) });
    expect(adopted.transitions?.at(-1)?.reason).toBe("adopted from vastai by label");
    expect(mocks.vastai.instances()).toBe(before.vast + 1);
  });

  it("resolves a create interrupted by a crash: adopts what the marketplace has, and its key answers with it", async () => {
    const request = createGpuInstanceRequest.parse(rtx);
    const id = randomUUID();
    const key = freshKey();
    // What a process that died mid-create leaves: the claimed key, the pending row, and the instance at Vast.ai.
    await leaveInterruptedCreate(request, key, id);
    const offer = {
      id: "vastai:1001",
      provider: "vastai" as const,
      gpu_model: "RTX 4090",
      gpu_count: 1,
      vram_gb: 24,
      price_per_hour: 0.35,
      location: "Oslo, NO",
      reliability: 0.995,
    };
    await mocks.vastai.marketplace.create(
      { offer, label: labelFor("local", id), image: request.image, diskGb: 20, durationHours: 1, httpPort: 8000, env: {} },
      { signal: new AbortController().signal, requestId: "crashed" },
    );
    const before = live();

    await untilReplicaHas(id, "pending");
    skewMs = 120_000;
    await t.deps.gpu?.refreshActive(100);
    const replay = await create(rtx, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("x-breakwater-provider")).toBe("vastai");
    expect(((await replay.json()) as GpuInstance).id).toBe(id);
    expect(live()).toBe(before);
  });

  it("fails a create interrupted before any marketplace made it, and frees its key", async () => {
    const request = createGpuInstanceRequest.parse(rtx);
    const id = randomUUID();
    const key = freshKey();
    await leaveInterruptedCreate(request, key, id);
    skewMs = 120_000;
    const failed = (await (await get(`/v1/gpu/instances/${id}`)).json()) as GpuInstance;
    expect(failed).toMatchObject({ status: "failed", failure: "the create was interrupted and no marketplace has the instance" });
    const retried = await create(rtx, key);
    expect(retried.status).toBe(201);
    expect(((await retried.json()) as GpuInstance).id).not.toBe(id);
  });

  it("answers 503 and frees the key when no marketplace can create", async () => {
    mocks.vastai.faults.inject("create", { status: 500 });
    mocks.ionet.faults.inject("create", { status: 502 });
    const key = freshKey();
    const failed = await create(rtx, key);
    await expectError(failed, 503, "unavailable");
    mocks.vastai.faults.clear();
    mocks.ionet.faults.clear();
    const retried = await create(rtx, key);
    expect(retried.status).toBe(201);
  });
});

describe("instances", () => {
  it("shows a new instance at once, refreshed from the marketplace, with every transition recorded", async () => {
    const created = (await (await create(rtx)).json()) as GpuInstance;
    const response = await get(`/v1/gpu/instances/${created.id}`);
    expect(response.status).toBe(200);
    const instance = (await response.json()) as GpuInstance;
    expect(instance.status).toBe("running");
    expect(instance.transitions?.map(({ from, to }) => [from, to])).toEqual([
      [null, "pending"],
      ["pending", "provisioning"],
      ["provisioning", "running"],
    ]);
    const events = await t.db.write<
      { to_status: string }[]
    >`select to_status from gpu_instance_events where instance_id = ${created.id} order by id`;
    expect(events.map((event) => event.to_status)).toEqual(["pending", "provisioning", "running"]);

    const list = (await (await get("/v1/gpu/instances")).json()) as { data: GpuInstance[] };
    expect(list.data.map((item) => item.id)).toContain(created.id);
  });

  it("moves an instance along from the background poller, with nobody reading it", async () => {
    const created = (await (await create(rtx)).json()) as GpuInstance;
    expect(created.status).toBe("provisioning");
    await untilReplicaHas(created.id, "provisioning");
    const gpu = t.deps.gpu;
    if (!gpu) throw new Error("the test app has no GPU service");
    const gets = mocks.vastai.faults.calls("get");

    // Only the poller's interval is faked: Postgres and the mock marketplace keep their real timers.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const poller = startGpuPoller(gpu, { intervalMs: 30_000, batch: 1_000, logger: t.deps.logger });
      vi.advanceTimersByTime(30_000);
      // Stopping waits for the round the tick started.
      await poller.stop();
    } finally {
      vi.useRealTimers();
    }

    expect(mocks.vastai.faults.calls("get")).toBeGreaterThan(gets);
    const [row] = await t.db.write<{ status: string }[]>`select status from gpu_instances where id = ${created.id}`;
    expect(row?.status).toBe("running");
    const events = await t.db.write<{ from_status: string | null; to_status: string; reason: string }[]>`
      select from_status, to_status, reason from gpu_instance_events where instance_id = ${created.id} order by id`;
    expect(events.map(({ from_status, to_status }) => [from_status, to_status])).toEqual([
      [null, "pending"],
      ["pending", "provisioning"],
      ["provisioning", "running"],
    ]);
    expect(events.at(-1)?.reason).toBe("vastai reports running");
  });

  it("deletes through terminating to terminated and destroys it at the marketplace", async () => {
    const created = (await (await create(rtx)).json()) as GpuInstance;
    const before = mocks.vastai.instances();
    const response = await remove(`/v1/gpu/instances/${created.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("vastai");
    const instance = (await response.json()) as GpuInstance;
    expect(instance.status).toBe("terminated");
    expect(instance.transitions?.slice(-2).map(({ from, to }) => [from, to])).toEqual([
      ["provisioning", "terminating"],
      ["terminating", "terminated"],
    ]);
    expect(mocks.vastai.instances()).toBe(before - 1);
    const again = await remove(`/v1/gpu/instances/${created.id}`);
    expect(again.status).toBe(200);
    expect(((await again.json()) as GpuInstance).status).toBe("terminated");
  });

  it("answers 404 for an unknown instance", async () => {
    await expectError(await get("/v1/gpu/instances/00000000-0000-4000-8000-000000000000"), 404, "not_found");
    await expectError(await get("/v1/gpu/instances/not-a-uuid"), 404, "not_found");
    await expectError(await remove("/v1/gpu/instances/00000000-0000-4000-8000-000000000000"), 404, "not_found");
  });

  it("answers 404 for another tenant's instance", async () => {
    const created = (await (await create(rtx)).json()) as GpuInstance;
    const [other] = await t.db.write<{ id: string }[]>`insert into tenants (name) values ('other') returning id`;
    const { key } = await t.keys.create(other?.id ?? "", "other");
    // Keys are verified on a replica: wait until it has the new one.
    await vi.waitFor(async () => expect((await get("/v1/gpu/instances", key)).status).toBe(200), { timeout: 10_000, interval: 50 });
    await expectError(await get(`/v1/gpu/instances/${created.id}`, key), 404, "not_found");
    const list = (await (await get("/v1/gpu/instances", key)).json()) as { data: GpuInstance[] };
    expect(list.data).toEqual([]);
  });
});
