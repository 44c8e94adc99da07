import { expect } from "vitest";
import type { FaultUpstream } from "./fault-upstream/client.ts";
import { chatRoute, chatTargets, stackProviders, type GatewayStack } from "./gateway-stack.ts";

/**
 * The fault catalogue the gateway must survive, each fault a scenario run against the real
 * regional process and a separate fault-injecting upstream (`primary`, `secondary`). Every
 * scenario starts from whatever state the ones before it left — in the catalogue test they
 * run one after another against one long-running gateway, and each alone — so none may
 * depend on a fresh process, and none may leave the gateway unable to serve the next.
 */
export interface FaultScenario {
  name: string;
  /** Also run through the edge (`wrangler dev`): the fault crosses both tiers. */
  throughEdge?: boolean;
  run(stack: GatewayStack): Promise<void>;
}

/** Breakers re-probe after 2 s here, so a scenario that opens one can watch it recover. */
export const coolDownMs = 2_000;
export const adminKey = "fault-catalogue-admin-key-0123456789abcdef";

/** The routes file the catalogue's gateway runs: primary/model-a → primary/model-b → secondary/model-a. */
export function catalogueRoutes(upstream: FaultUpstream): unknown {
  const provider = (name: string) => ({
    type: "openai",
    baseUrl: upstream.baseUrl(name),
    apiKey: "env:FAULT_UPSTREAM_KEY",
    models: ["model-a", "model-b"],
    timeouts: { firstByteMs: 5_000, firstTokenMs: 5_000, idleMs: 3_000, totalMs: 60_000 },
    breaker: { coolDownMs },
  });
  return {
    providers: Object.fromEntries(stackProviders.map((name) => [name, provider(name)])),
    routes: { [chatRoute]: { targets: chatTargets } },
  };
}

interface BreakerRow {
  id: string;
  status: string;
  probes_in_flight: number;
  window: { successes: number; failures: number };
}

async function breakers(stack: GatewayStack): Promise<Map<string, BreakerRow>> {
  const response = await fetch(`${stack.regional.url}/admin/circuit-breakers`, { headers: { authorization: `Bearer ${adminKey}` } });
  const rows = ((await response.json()) as { data: BreakerRow[] }).data;
  return new Map(rows.map((row) => [row.id, row]));
}

const message = (text: string) => ({ model: chatRoute, messages: [{ role: "user", content: text }] });
const post = (stack: GatewayStack, body: unknown, init: RequestInit = {}) =>
  stack.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });

/** Who answered a plain chat call: `provider/model` as the upstream's echo names it. */
async function answeredBy(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return body.choices[0]?.message.content.split(":")[0] ?? "";
}

/** The SSE `data:` payloads of a stream, read to its end. */
async function events(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice(6));
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Healthy upstreams again, and the gateway serving from the primary within one cool-down
 * and a few calls — what an operator would see once a provider recovers.
 */
async function recovered(stack: GatewayStack): Promise<void> {
  await stack.upstream.reset();
  await until(
    async () => (await answeredBy(await post(stack, message("are you back?")))) === "primary/model-a",
    coolDownMs * 3,
    "primary/model-a answering again",
  );
}

export const scenarios: FaultScenario[] = [
  {
    name: "a body nested 50,000 deep, twice: 400, no provider called, no breaker charged",
    async run(stack) {
      await recovered(stack);
      const before = (await stack.upstream.requests()).length;
      const nested = `{"model":"${chatRoute}","messages":[{"role":"user","content":"x"}],"extra":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
      for (let i = 0; i < 2; i++) {
        const response = await stack.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: nested,
        });
        expect(response.status).toBe(400);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe("invalid_request");
        expect(error.message).not.toContain("call stack");
      }
      expect((await stack.upstream.requests()).length).toBe(before);
      for (const row of (await breakers(stack)).values()) expect(row.status).toBe("closed");
    },
  },
  {
    name: "ten clients hanging up mid-stream: the breaker stays closed and the primary keeps serving",
    throughEdge: true,
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ tokens: 100, intervalMs: 50 }]);
      for (let i = 0; i < 10; i++) {
        const client = new AbortController();
        const response = await post(stack, { ...message("stream then leave"), stream: true }, { signal: client.signal });
        expect(response.headers.get("x-breakwater-provider")).toBe("primary");
        const reader = response.body!.getReader();
        await reader.read();
        client.abort();
        await reader.cancel().catch(() => {});
      }
      await until(
        async () => (await stack.upstream.requests({ provider: "primary", outcome: "client-gone" })).length >= 10,
        3_000,
        "upstream saw ten cancels",
      );
      const primary = (await breakers(stack)).get("primary/model-a");
      expect(primary?.status).toBe("closed");
      expect(primary?.window.failures).toBe(0);
      await stack.upstream.reset();
      expect(await answeredBy(await post(stack, message("still there?")))).toBe("primary/model-a");
    },
  },
  {
    name: "half-open with three aborted probes: the next call is admitted and closes the breaker",
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ status: 500 }]);
      await until(
        async () => {
          await post(stack, message("fail"));
          return (await breakers(stack)).get("primary/model-a")?.status === "open";
        },
        10_000,
        "primary/model-a open",
      );
      await new Promise((resolve) => setTimeout(resolve, coolDownMs + 100));
      await stack.upstream.setRules("primary", "model-a", [{ hang: true }]);
      const since = (await stack.upstream.requests()).at(-1)?.id ?? 0;
      const clients = Array.from({ length: 3 }, () => new AbortController());
      const probes = clients.map((client) => post(stack, message("probe"), { signal: client.signal }).catch(() => undefined));
      await until(
        async () => (await stack.upstream.requests({ provider: "primary", model: "model-a", afterId: since })).length >= 3,
        5_000,
        "three probes at the upstream",
      );
      for (const client of clients) client.abort();
      await Promise.all(probes);
      await stack.upstream.reset();
      expect(await answeredBy(await post(stack, message("after the probes")))).toBe("primary/model-a");
      expect(await answeredBy(await post(stack, message("and again")))).toBe("primary/model-a");
      expect((await breakers(stack)).get("primary/model-a")?.status).toBe("closed");
    },
  },
  {
    name: "a client that disconnects while waiting for headers: the upstream sees the cancel within 1 s, no breaker charged",
    // Not through `wrangler dev`: its ProxyWorker (in front of the Worker, dev only) sends the
    // call on detached from the client's connection, so a disconnect before headers never
    // reaches the Worker there. The edge's part is pinned in workerd itself
    // (test/edge/client-disconnect.test.ts); mid-stream cancels do cross the proxy.
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ hang: true }]);
      const since = (await stack.upstream.requests()).at(-1)?.id ?? 0;
      const client = new AbortController();
      const pending = post(stack, message("wait for me"), { signal: client.signal }).catch(() => undefined);
      await until(
        async () => (await stack.upstream.requests({ provider: "primary", afterId: since })).length === 1,
        5_000,
        "the call at the upstream",
      );
      const abortedAt = Date.now();
      client.abort();
      await pending;
      await until(
        async () => (await stack.upstream.requests({ provider: "primary", afterId: since }))[0]?.clientGoneAt !== null,
        2_000,
        "the upstream saw the cancel",
      );
      const [record] = await stack.upstream.requests({ provider: "primary", afterId: since });
      expect((record?.clientGoneAt ?? Infinity) - abortedAt).toBeLessThan(1_000);
      expect((await breakers(stack)).get("primary/model-a")?.window.failures).toBe(0);
    },
  },
  {
    name: "512 concurrent streams on one provider: all served by the primary",
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ tokens: 5, intervalMs: 20 }]);
      const responses = await Promise.all(Array.from({ length: 512 }, (_, i) => post(stack, { ...message(`stream ${i}`), stream: true })));
      const providers = responses.map((response) => response.headers.get("x-breakwater-provider"));
      expect(providers.filter((provider) => provider === "primary")).toHaveLength(512);
      const bodies = await Promise.all(responses.map(events));
      expect(bodies.filter((body) => body.at(-1) === "[DONE]")).toHaveLength(512);
      expect((await breakers(stack)).get("primary/model-a")?.window.failures).toBe(0);
    },
  },
  {
    name: "429 with Retry-After: 1: answered by the primary after about a second, breaker closed",
    throughEdge: true,
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ status: 429, retryAfter: 1, times: 1 }, { ok: true }]);
      const started = Date.now();
      expect(await answeredBy(await post(stack, message("patience")))).toBe("primary/model-a");
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      const primary = (await breakers(stack)).get("primary/model-a");
      expect(primary?.status).toBe("closed");
      expect(primary?.window.failures).toBe(0);
    },
  },
  {
    name: "the primary model failing (503) while its sibling model is healthy: every request answered by the sibling",
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ status: 503 }]);
      const started = Date.now();
      let answered = 0;
      while (Date.now() - started < 3_000) {
        expect(await answeredBy(await post(stack, message("sibling please")))).toBe("primary/model-b");
        answered += 1;
      }
      expect(answered).toBeGreaterThan(5);
      const rows = await breakers(stack);
      expect(rows.get("primary/model-a")?.status).toBe("open");
      expect(rows.get("primary/model-b")?.status).toBe("closed");
      expect(rows.get("primary")?.status).toBe("closed");
    },
  },
  {
    name: "an unparseable chunk between valid ones is skipped and the stream completes",
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ tokens: 4, malformedAfter: 2 }]);
      const body = await events(await post(stack, { ...message("one two three four"), stream: true }));
      expect(body.at(-1)).toBe("[DONE]");
      expect(body.some((event) => event.includes('"error"'))).toBe(false);
    },
  },
  {
    name: "a stream cut after content reached the client ends with the error event and no [DONE]",
    throughEdge: true,
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "model-a", [{ tokens: 10, intervalMs: 10, cutAfter: 3, times: 1 }]);
      const body = await events(await post(stack, { ...message("cut me"), stream: true }));
      expect(body).not.toContain("[DONE]");
      expect(JSON.parse(body.at(-1) ?? "{}")).toMatchObject({ error: { code: "upstream_error" } });
    },
  },
  {
    name: "a primary that resets every connection: its provider-wide breaker opens and the route falls back to the secondary",
    async run(stack) {
      await recovered(stack);
      await stack.upstream.setRules("primary", "*", [{ reset: true }]);
      for (let i = 0; i < 5; i++) expect(await answeredBy(await post(stack, message("elsewhere")))).toBe("secondary/model-a");
      expect((await breakers(stack)).get("primary")?.status).toBe("open");
    },
  },
];
