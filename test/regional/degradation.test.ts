import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { parseRoutes } from "../../regional/routes-file.ts";
import { createDegradations } from "../../regional/routing/degradation.ts";
import { createTestApp, postJson, testAdminKey, type TestApp } from "../support/regional-app.ts";

// `down/echo` always answers 503; `mock/echo` works.
const down = [{ provider: "down", model: "echo" }];
const routes = {
  routes: {
    fallback: { targets: down, retry: { maxAttempts: 1 }, degradation: { mode: "fallback_model", model: "mock/echo" } },
    stale: { targets: down, retry: { maxAttempts: 1 }, degradation: { mode: "stale" } },
    fast: { targets: down, retry: { maxAttempts: 1 }, degradation: { mode: "fail_fast" } },
    plain: { targets: down, retry: { maxAttempts: 1 } },
    // Sheds once requests waited over 1 ms for 1 ms: two waits in a row are enough.
    busy: {
      targets: [{ provider: "mock", model: "echo" }],
      queue: { concurrency: 1, maxQueued: 10, maxWaitMs: 5_000, targetMs: 1, intervalMs: 1 },
      degradation: { mode: "reduce_max_tokens", maxTokens: 2 },
    },
  },
};

let t: TestApp;
const admin = { authorization: `Bearer ${testAdminKey}`, "content-type": "application/json" };
const ask = (model: string, key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  t.app.request(
    postJson("/v1/chat/completions", { model, messages: [{ role: "user", content: "one two three four five" }], ...extra }, key, headers),
  );

beforeAll(async () => {
  const providers = [createMockProvider(), createMockProvider({ name: "down", faults: { echo: "status=503" } })];
  t = await createTestApp(inject("primaryUrl"), { providers, routes, adminKey: testAdminKey });
});
afterAll(async () => {
  await t?.close();
});

describe("degradation", () => {
  it("fallback_model: serves from the fallback model when every target failed, and says so", async () => {
    const response = await ask("fallback", t.apiKey);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-degraded")).toBe("fallback_model");
    expect(response.headers.get("x-breakwater-provider")).toBe("mock");
    expect(await response.json()).toMatchObject({ model: "mock/echo", choices: [{ message: { content: "one two three four five" } }] });
  });

  it("fallback_model: a stream is served from the fallback too", async () => {
    const response = await ask("fallback", t.apiKey, { stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-degraded")).toBe("fallback_model");
    expect(await response.text()).toContain("[DONE]");
  });

  it("stale: answers 503 marked for the edge to serve a stale copy", async () => {
    const response = await ask("stale", t.apiKey);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-breakwater-degraded")).toBe("stale");
    expect(response.headers.get("x-breakwater-attempts")).toBe("1");
  });

  it("fail_fast: answers the failure as it is, marked", async () => {
    const response = await ask("fast", t.apiKey);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-breakwater-degraded")).toBe("fail_fast");
  });

  it("without degradation the failure carries no mark", async () => {
    const response = await ask("plain", t.apiKey);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-breakwater-degraded")).toBeNull();
  });

  it("reduce_max_tokens: while the queue sheds, admitted requests ask for fewer tokens", async () => {
    const slow = { "x-mock-fault": "latency=200" };
    // Eight wait behind one another: from the second served on, waits stay above target for the interval.
    const waiting = Array.from({ length: 8 }, () => ask("busy", t.apiKey, {}, slow));
    // Until the route sheds (read as an operator would), however loaded the machine: no fixed sleep.
    for (let polls = 0; polls < 200; polls++) {
      const queues = (await (await t.app.request("/admin/queue", { headers: admin })).json()) as {
        data: Array<{ queue: string; shedding: boolean }>;
      };
      if (queues.data.find((entry) => entry.queue === "busy")?.shedding) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Another tenant, under its share, is still queued while the route sheds; its answer is cut to 2 tokens.
    const [tenant] = await t.db.write<{ id: string }[]>`insert into tenants (name) values ('other') returning id`;
    const { key } = await t.keys.create(tenant?.id ?? "", "other");
    const degraded = await ask("busy", key, { max_tokens: 100 });
    expect(degraded.status).toBe(200);
    expect(degraded.headers.get("x-breakwater-degraded")).toBe("reduce_max_tokens");
    expect(await degraded.json()).toMatchObject({ choices: [{ message: { content: "one two " }, finish_reason: "length" }] });
    await Promise.all(waiting);
    // Once the queue drained, nothing is cut.
    const whole = await ask("busy", key, { max_tokens: 100 });
    expect(whole.headers.get("x-breakwater-degraded")).toBeNull();
  });

  it("GET/PUT /admin/degradation changes a route's mode at run time, audited", async () => {
    const listed = await t.app.request("/admin/degradation", { headers: admin });
    expect(await listed.json()).toMatchObject({
      data: expect.arrayContaining([
        { route: "plain", degradation: null },
        { route: "stale", degradation: { mode: "stale" } },
      ]),
    });
    const put = await t.app.request("/admin/degradation", {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ route: "plain", degradation: { mode: "fallback_model", model: "mock/echo" } }),
    });
    expect(put.status).toBe(200);
    expect(put.headers.get("x-breakwater-audit-id")).toBeTruthy();
    expect(await put.json()).toMatchObject({ route: "plain", before: null });
    const response = await ask("plain", t.apiKey);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-degraded")).toBe("fallback_model");

    const unknown = await t.app.request("/admin/degradation", {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ route: "plain", degradation: { mode: "fallback_model", model: "nowhere/none" } }),
    });
    expect(unknown.status).toBe(400);
  });

  it("a fallback_model nothing serves stops start-up, naming the route", () => {
    const file = parseRoutes({ routes: { a: { targets: down, degradation: { mode: "fallback_model", model: "ghost/model" } } } });
    expect(() => createDegradations(file, (model) => model === "down/echo")).toThrow(
      "Routes file: routes.a.degradation.model: no route or provider model 'ghost/model'",
    );
  });
});
