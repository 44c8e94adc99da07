import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestApp, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

const echo = [{ provider: "mock", model: "echo" }];
const routes = {
  routes: {
    // 2 slots, 50 ms a request: 40 requests a second.
    limited: { targets: echo, queue: { concurrency: 2, maxQueued: 20, maxWaitMs: 2_000, targetMs: 20, intervalMs: 100 } },
    tight: { targets: echo, queue: { concurrency: 2, maxQueued: 4, maxWaitMs: 1_000, targetMs: 5, intervalMs: 50 } },
    single: { targets: echo, queue: { concurrency: 1, maxQueued: 1, maxWaitMs: 5_000 } },
    ordered: { targets: echo, queue: { concurrency: 1, maxQueued: 10, maxWaitMs: 5_000 } },
  },
};

let t: TestApp;
const admin = { authorization: `Bearer ${testAdminKey}`, "content-type": "application/json" };

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { routes, adminKey: testAdminKey });
});
afterAll(async () => {
  await t?.close();
});

async function newTenant(name: string): Promise<{ tenantId: string; keyId: string; key: string }> {
  const [tenant] = await t.db.write<{ id: string }[]>`insert into tenants (name) values (${name}) returning id`;
  if (!tenant) throw new Error("no tenant");
  const { key, record } = await t.keys.create(tenant.id, name);
  return { tenantId: tenant.id, keyId: record.keyId, key };
}

const chat = (model: string, key: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
  postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "hello there" }], ...extra }, key, headers);

/** The same request, sent by a client that may leave. */
const leavable = (request: Request, signal: AbortSignal) =>
  new Request(request.url, { method: "POST", headers: request.headers, body: request.body, signal, duplex: "half" } as RequestInit);

/** Sends a request, and reads the whole answer: its status, headers and how long it took. */
async function timed(request: Request): Promise<{ status: number; headers: Headers; body: string; ms: number }> {
  const started = performance.now();
  const response = await t.app.request(request);
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
}

async function queueOf(name: string): Promise<{ in_flight: number; queued: number; totals: Record<string, number> }> {
  const response = await t.app.request("/admin/queue", { headers: admin });
  const { data } = (await response.json()) as {
    data: Array<{ queue: string; in_flight: number; queued: number; totals: Record<string, number> }>;
  };
  const found = data.find((queue) => queue.queue === name);
  if (!found) throw new Error(`no queue ${name}`);
  return found;
}

/** Polls the queue (the requests run in this process) until it holds what the test waits for. */
async function until(name: string, holds: (queue: { in_flight: number; queued: number }) => boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (holds(await queueOf(name))) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`queue ${name} never got there: ${JSON.stringify(await queueOf(name))}`);
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("admission queue", () => {
  it("keeps a quiet tenant served within 400 ms while another floods the route at 20 times its rate", async () => {
    const flood = await newTenant("flood");
    const quiet = await newTenant("quiet");
    const slow = { "x-mock-fault": "latency=50" };
    const floods: Array<ReturnType<typeof timed>> = [];
    const quiets: Array<ReturnType<typeof timed>> = [];
    // One second: the flood sends every 5 ms (200/s, five times capacity), the quiet tenant every 100 ms (10/s).
    for (let tick = 0; tick < 200; tick += 1) {
      floods.push(timed(chat("limited", flood.key, slow)));
      if (tick % 20 === 10) quiets.push(timed(chat("limited", quiet.key, slow)));
      await sleep(5);
    }
    const quietAnswers = await Promise.all(quiets);
    const floodAnswers = await Promise.all(floods);

    expect(quietAnswers.map((answer) => answer.status)).toEqual(quietAnswers.map(() => 200));
    expect(p99(quietAnswers.map((answer) => answer.ms))).toBeLessThan(400);
    const shed = floodAnswers.filter((answer) => answer.status !== 200);
    expect(shed.length).toBeGreaterThan(50);
    // Over its share while the quiet tenant has a request in; merely overloading the route while alone.
    const codes = new Set<string>();
    for (const answer of shed) {
      const { error } = JSON.parse(answer.body) as { error: { code: string } };
      codes.add(`${answer.status} ${error.code}`);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect(codes).toContain("429 tenant_over_share");
    expect([...codes].filter((code) => code !== "429 tenant_over_share" && code !== "503 overloaded")).toEqual([]);
    // None waited past the queue's 2 s bound (plus the 50 ms answer and slack).
    expect(Math.max(...floodAnswers.map((answer) => answer.ms))).toBeLessThan(2_500);
  });

  it("answers overload at once with 503 and Retry-After, nobody waits past the bound, and no breaker opens", async () => {
    const alone = await newTenant("alone");
    const answers = await Promise.all(Array.from({ length: 30 }, () => timed(chat("tight", alone.key, { "x-mock-fault": "latency=300" }))));
    const served = answers.filter((answer) => answer.status === 200);
    const shed = answers.filter((answer) => answer.status !== 200);
    // 2 in flight and 4 waiting; the other 24 are refused.
    expect(served).toHaveLength(6);
    expect(shed).toHaveLength(24);
    for (const answer of shed) {
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "overloaded" } });
      expect(answer.headers.get("retry-after")).toBe("1");
      // Refused before any slot freed: sooner than one 300 ms answer.
      expect(answer.ms).toBeLessThan(300);
    }
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(1_000 + 300 + 300);
    expect(t.deps.router.breakers.list().filter((breaker) => breaker.state.status !== "closed")).toEqual([]);
  });

  it("gives a waiting client's place up when it leaves", async () => {
    const { key } = await newTenant("leaver");
    // Holds the one slot long enough for the steps below, however loaded the machine.
    const holder = timed(chat("single", key, { "x-mock-fault": "latency=1500" }));
    await until("single", (queue) => queue.in_flight === 1);
    const leaving = new AbortController();
    const left = Promise.resolve(t.app.request(leavable(chat("single", key), leaving.signal))).catch((error: unknown) => error);
    await until("single", (queue) => queue.queued === 1);
    // Full: one waits already.
    expect((await timed(chat("single", key))).status).toBe(503);
    leaving.abort();
    await left;
    await until("single", (queue) => queue.queued === 0);
    const next = await timed(chat("single", key));
    expect(next.status).toBe(200);
    expect((await holder).status).toBe(200);
    expect((await queueOf("single")).totals).toMatchObject({ abandoned: 1 });
  });

  it("holds a stream's slot until it ends, and frees it when the client leaves mid-stream", async () => {
    const { key } = await newTenant("streamer");
    const stream = await t.app.request(chat("single", key, {}, { stream: true }));
    expect(stream.status).toBe(200);
    const waiting = timed(chat("single", key));
    await until("single", (queue) => queue.in_flight === 1 && queue.queued === 1);
    await stream.text();
    expect((await waiting).status).toBe(200);

    const leaving = new AbortController();
    const second = await t.app.request(leavable(chat("single", key, {}, { stream: true }), leaving.signal));
    const reader = second.body?.getReader();
    await reader?.read();
    const behind = timed(chat("single", key));
    await until("single", (queue) => queue.queued === 1);
    leaving.abort();
    await reader?.cancel();
    expect((await behind).status).toBe(200);
  });

  it("serves high before normal before low when the slot frees, and a request cannot raise its own", async () => {
    const high = await newTenant("high");
    const normal = await newTenant("normal");
    const low = await newTenant("low");
    const keyPut = await t.app.request(`/admin/keys/${high.keyId}/priority`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ priority: "high" }),
    });
    expect(keyPut.status).toBe(200);
    expect(keyPut.headers.get("x-breakwater-audit-id")).toBeTruthy();
    const tenantPut = await t.app.request(`/admin/tenants/${low.tenantId}/priority`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ priority: "low" }),
    });
    expect(await tenantPut.json()).toMatchObject({ priority: "low", before: "normal" });

    const order: string[] = [];
    const send = (label: string, key: string, headers: Record<string, string> = {}) =>
      timed(chat("ordered", key, { "x-mock-fault": "latency=10", ...headers })).then((answer) => {
        order.push(label);
        return answer;
      });
    const holder = timed(chat("ordered", normal.key, { "x-mock-fault": "latency=200" }));
    await until("ordered", (queue) => queue.in_flight === 1);
    const sent = [
      send("low", low.key),
      send("raiser", low.key, { "x-breakwater-priority": "high" }),
      send("lowered", normal.key, { "x-breakwater-priority": "low" }),
      send("normal", normal.key),
      send("high", high.key),
    ];
    await until("ordered", (queue) => queue.queued === 5);
    await holder;
    const answers = await Promise.all(sent);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(order.slice(0, 2)).toEqual(["high", "normal"]);
    expect(order.slice(2).sort()).toEqual(["low", "lowered", "raiser"]);
  });

  it("refuses a priority header that names no priority", async () => {
    const { key } = await newTenant("typo");
    const answer = await timed(chat("ordered", key, { "x-breakwater-priority": "urgent" }));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { param: "x-breakwater-priority" } });
  });

  it("shows each queue's depth, waits and tenants in GET /admin/queue", async () => {
    const response = await t.app.request("/admin/queue", { headers: admin });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: unknown[] };
    expect(data).toContainEqual(
      expect.objectContaining({
        queue: "limited",
        policy: { concurrency: 2, max_queued: 20, max_wait_ms: 2_000, target_ms: 20, interval_ms: 100 },
        in_flight: 0,
        queued: 0,
        wait_ms: expect.objectContaining({ p50: expect.any(Number), p99: expect.any(Number), ewma: expect.any(Number) }),
        priorities: expect.objectContaining({ high: expect.any(Object), normal: expect.any(Object), low: expect.any(Object) }),
        tenants: [],
      }),
    );
  });
});
