import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { createRegistry } from "../../regional/providers/registry.ts";
import { createPlanner } from "../../regional/routing/plan.ts";
import { loadRoutesFile, parseRoutes } from "../../regional/routing/routes-file.ts";

describe("routes file", () => {
  it("stops start-up naming the path and the field at fault", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bw-routes-"));
    const path = join(dir, "routes.json");
    await writeFile(path, JSON.stringify({ routes: { chat: { targets: [{ provider: "mock", model: "echo", weight: -1 }] } } }));
    await expect(loadRoutesFile(path)).rejects.toThrow(`Routes file ${path}: routes.chat.targets.0.weight`);
    await writeFile(path, "{ not json");
    await expect(loadRoutesFile(path)).rejects.toThrow(`Routes file ${path}: not valid JSON`);
    await rm(dir, { recursive: true });
  });

  it("accepts the example shipped with the README", async () => {
    const file = await loadRoutesFile(new URL("../../routes.example.json", import.meta.url).pathname);
    expect(Object.keys(file.routes)).toEqual(["fast-chat", "balanced-chat"]);
  });

  it("rejects a target no provider serves, naming it", () => {
    const registry = createRegistry([createMockProvider()]);
    const file = parseRoutes({ routes: { chat: { targets: [{ provider: "mock", model: "echo" }, { provider: "nobody", model: "x" }] } } });
    expect(() => createPlanner(registry, file)).toThrow("routes.chat.targets.1: no provider serves 'nobody/x'");
  });

  it("applies route overrides on top of provider policies and the defaults", () => {
    const registry = createRegistry([createMockProvider()]);
    const file = parseRoutes({
      providers: { mock: { timeouts: { firstTokenMs: 2_000 }, retry: { maxAttempts: 2 } } },
      routes: { chat: { targets: [{ provider: "mock", model: "echo" }], retry: { maxAttempts: 5 } } },
    });
    const planner = createPlanner(registry, file);
    const [routed] = planner.plan("chat", "chat").targets;
    expect(routed?.policy.retry).toMatchObject({ maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 10_000 });
    expect(routed?.policy.timeouts.firstTokenMs).toBe(2_000);
    const [direct] = planner.plan("mock/echo", "chat").targets;
    expect(direct?.policy.retry.maxAttempts).toBe(2);
  });

  it("puts a target drawn by weight first and keeps the rest as fallbacks", () => {
    const registry = createRegistry([createMockProvider(), { ...createMockProvider(), name: "other" }]);
    const file = parseRoutes({ routes: { chat: { strategy: "weighted", targets: [{ provider: "mock", model: "echo", weight: 1 }, { provider: "other", model: "echo", weight: 3 }] } } });
    const planner = createPlanner(registry, file);
    expect(planner.plan("chat", "chat", () => 0.1).targets.map((target) => target.provider.name)).toEqual(["mock", "other"]);
    expect(planner.plan("chat", "chat", () => 0.5).targets.map((target) => target.provider.name)).toEqual(["other", "mock"]);
  });
});
