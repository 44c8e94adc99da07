import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMockProvider, type MockProvider } from "../../regional/providers/mock/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import type { Clock } from "../../regional/routing/router.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

const adminKey = "load-balancing-admin-key-0123456789abcdef";

/** Time stands still unless a test (or a slow upstream, below) moves it; sleeps return at once. */
let now = 1_000_000;
const clock: Clock = { now: () => now, sleep: async () => {} };

/** A seeded generator (mulberry32): draws look random yet every run sees the same ones. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** How long each provider takes to answer, as the gateway's clock sees it. */
const delayMs: Record<string, number> = {};

/** A mock upstream whose answers take `delayMs[name]` of the injected clock: a slow provider without real waiting. */
function timed(mock: MockProvider): Provider {
  const wait = () => {
    now += delayMs[mock.name] ?? 0;
  };
  return {
    ...mock,
    chat: async (request, context) => {
      wait();
      return await mock.chat(request, context);
    },
    chatStream: async (request, context) => {
      wait();
      return await mock.chatStream(request, context);
    },
  };
}

const names = ["a", "b", "c"] as const;
const mocks = Object.fromEntries(names.map((name) => [name, createMockProvider({ name })])) as Record<(typeof names)[number], MockProvider>;
/** Answers every call with 429 and a minute's Retry-After. */
const limited = createMockProvider({ name: "limited", faults: { echo: "status=429;retry-after=60" } });

const over = (strategy: string, providers: readonly string[], weights: number[] = []) => ({
  strategy,
  targets: providers.map((provider, index) => ({
    provider,
    model: "echo",
    ...(weights[index] !== undefined && { weight: weights[index] }),
  })),
  // A stalled stream is held open by the tests below; nothing should time it out meanwhile.
  timeouts: { idleMs: 600_000 },
});

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), {
    providers: [...names.map((name) => timed(mocks[name])), limited],
    routes: {
      routes: {
        ordered: over("ordered", names),
        weighted: over("weighted", names, [1, 2, 7]),
        "round-robin": over("round_robin", names),
        "least-outstanding": over("least_outstanding", ["a", "b"]),
        latency: over("latency", ["a", "b"]),
        "with-limited": over("round_robin", ["limited", "a", "c"]),
        switchable: over("ordered", ["a", "b"]),
      },
    },
    clock,
    random: seeded(20),
    adminKey,
  });
});
afterAll(async () => {
  await t?.close();
});

async function ask(model: string): Promise<{ provider: string; attempts: number }> {
  const response = await t.app.request(postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] }, t.apiKey));
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return { provider: response.headers.get("x-breakwater-provider") ?? "", attempts: Number(response.headers.get("x-breakwater-attempts")) };
}

/** Sends `count` requests, `together` at a time; how many each provider served. */
async function spread(model: string, count: number, together = 1): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  for (let sent = 0; sent < count; sent += together) {
    const batch = await Promise.all(Array.from({ length: Math.min(together, count - sent) }, () => ask(model)));
    for (const { provider } of batch) served[provider] = (served[provider] ?? 0) + 1;
  }
  return served;
}

/** A stream the upstream stops sending on after its first word, held open until `end()`: a call in flight. */
async function heldStream(model: string): Promise<{ provider: string; end(): Promise<void> }> {
  const response = await t.app.request(
    postJson("/v1/chat/completions", { model, stream: true, messages: [{ role: "user", content: "hold on please" }] }, t.apiKey, {
      "x-mock-fault": "stall-after=1",
    }),
  );
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  return { provider: response.headers.get("x-breakwater-provider") ?? "", end: () => reader.cancel() };
}

const admin = (method: string, body?: unknown) =>
  t.app.request("/admin/load-balancing", {
    method,
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

describe("load-balancing strategies", () => {
  it("ordered: the first target serves every request while it is healthy", async () => {
    expect(await spread("ordered", 30)).toEqual({ a: 30 });
  });

  it("weighted: the first target is drawn by weight (1 : 2 : 7)", async () => {
    const served = await spread("weighted", 1_000, 50);
    expect(served.a).toBeGreaterThan(60);
    expect(served.a).toBeLessThan(140);
    expect(served.b).toBeGreaterThan(150);
    expect(served.b).toBeLessThan(250);
    expect(served.c).toBeGreaterThan(640);
    expect(served.c).toBeLessThan(760);
  });

  it("round_robin: each target serves its turn, a third each", async () => {
    expect(await spread("round-robin", 300, 50)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("puts a target cooling down after a 429 last, so requests no longer pass through it", async () => {
    // The first turn lands on `limited`: it answers 429 with a minute's Retry-After and cools down.
    const first = await ask("with-limited");
    expect(first).toEqual({ provider: "a", attempts: 2 });
    const answers = await Promise.all(Array.from({ length: 100 }, () => ask("with-limited")));
    expect(answers.every((answer) => answer.attempts === 1)).toBe(true);
    const onA = answers.filter((answer) => answer.provider === "a").length;
    expect(onA).toBeGreaterThanOrEqual(45);
    expect(onA).toBeLessThanOrEqual(55);
    expect(limited.calls("echo")).toBe(1);
  });

  it("least_outstanding: requests go to the target with fewer calls in flight, streams counted until they end", async () => {
    // Two streams held open on a (asked for by its own name, so the route's choice is not involved).
    const held = [await heldStream("a/echo"), await heldStream("a/echo")];
    expect(held.map((stream) => stream.provider)).toEqual(["a", "a"]);
    expect(await spread("least-outstanding", 20)).toEqual({ b: 20 });

    for (const stream of held) await stream.end();
    expect(await spread("least-outstanding", 20)).toEqual({ a: 10, b: 10 });
  });

  it("latency: traffic moves off a target that slowed down within seconds, and back once it recovered", async () => {
    delayMs.a = 40;
    delayMs.b = 40;
    const even = await spread("latency", 100);
    expect(even.a).toBeGreaterThan(30);
    expect(even.b).toBeGreaterThan(30);

    delayMs.b = 800;
    const slowedAt = now;
    const after = await spread("latency", 100);
    expect(after.b ?? 0).toBeLessThanOrEqual(3);
    expect(now - slowedAt).toBeLessThan(7_000);

    // b is well again; after a minute untried its estimate has decayed and it is tried, then kept.
    delayMs.b = 40;
    now += 60_000;
    const recovered = await spread("latency", 100);
    expect(recovered.b).toBeGreaterThan(30);
    delete delayMs.a;
    delete delayMs.b;
  });
});

describe("admin: /admin/load-balancing", () => {
  interface RouteView {
    route: string;
    strategy: string;
    configured: string;
    targets: Array<{ target: string; in_flight: number; latency_ms: number }>;
  }

  it("lists each route's strategy and what it orders by", async () => {
    const response = await admin("GET");
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: RouteView[] };
    expect(data.find((route) => route.route === "least-outstanding")).toMatchObject({
      strategy: "least_outstanding",
      configured: "least_outstanding",
      targets: [{ target: "a/echo", in_flight: 0 }, { target: "b/echo" }],
    });
    expect(data.map((route) => route.strategy)).toContain("latency");
  });

  it("changes a route's strategy at run time, audited", async () => {
    expect(await spread("switchable", 10)).toEqual({ a: 10 });
    const response = await admin("PUT", { route: "switchable", strategy: "round_robin" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ route: "switchable", strategy: "round_robin", configured: "ordered" });
    expect(await spread("switchable", 10)).toEqual({ a: 5, b: 5 });

    await t.deps.audit.flush();
    const [event] = await t.db.write<{ action: string; resource: string; result: string; metadata: Record<string, unknown> }[]>`
      select action, resource, result, metadata from audit_log where resource = 'route:switchable'`;
    expect(event).toMatchObject({
      action: "config.change",
      result: "success",
      metadata: { setting: "strategy", from: "ordered", to: "round_robin" },
    });
  });

  it("refuses an unknown strategy (400) and an unknown route (404)", async () => {
    const unknownStrategy = await admin("PUT", { route: "switchable", strategy: "fastest" });
    expect(unknownStrategy.status).toBe(400);
    const unknownRoute = await admin("PUT", { route: "nowhere", strategy: "latency" });
    expect(unknownRoute.status).toBe(404);
    expect(((await unknownRoute.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
