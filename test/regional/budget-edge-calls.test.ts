import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { priceSheet, type BudgetCrossing } from "../../shared/contract/budgets.ts";
import { identityHeaders, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

/** What the edge asks of regional for budgets: the price sheet, and audit events for soft thresholds crossed. */

const secret = "edge-signing-secret-for-the-budget-calls";
const routes = {
  routes: {
    "smart-chat": {
      targets: [
        { provider: "cheap", model: "echo" },
        { provider: "dear", model: "echo" },
        { provider: "unpriced", model: "echo" },
      ],
    },
    "unpriced-chat": { targets: [{ provider: "unpriced", model: "echo" }] },
  },
  providers: {
    cheap: { prices: { echo: { input: 0.5, output: 8 }, embed: { input: 0.02, output: 0 } } },
    dear: { prices: { echo: { input: 3, cachedInput: 0.3, output: 6 } } },
  },
};

let t: TestApp;
let app: ReturnType<typeof createApp>;
let keyId: string;
beforeAll(async () => {
  const providers = ["cheap", "dear", "unpriced"].map((name) => createMockProvider({ name }));
  t = await createTestApp(inject("primaryUrl"), { providers, routes });
  app = createApp({ ...t.deps, edgeSigningSecret: secret });
  const record = await t.keys.verify(t.apiKey);
  if (!record) throw new Error("the test key does not verify");
  keyId = record.keyId;
});
afterAll(async () => t?.close());

/** A request as the edge sends it: signed, with the identity and any other `x-breakwater-*` header it vouches for. */
async function signed(method: string, path: string, body?: unknown, vouched: Record<string, string> = {}): Promise<Request> {
  const text = body === undefined ? "" : JSON.stringify(body);
  const identity: Record<string, string> = path.startsWith("/v1/")
    ? { [identityHeaders.keyId]: keyId, [identityHeaders.tenantId]: t.tenantId }
    : {};
  const headers = { ...identity, ...vouched };
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(secret, { method, pathAndQuery: path, timestampS, bodySha256: await sha256Hex(text), headers });
  return new Request(`http://regional.test${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers, [timestampHeader]: String(timestampS), [signatureHeader]: signature },
    body: body === undefined ? undefined : text,
  });
}

interface AuditRow {
  actor_type: string;
  actor_id: string;
  action: string;
  resource: string;
  tenant_id: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
}

async function crossingEvents(requestId: string | null): Promise<AuditRow[]> {
  await t.deps.audit.flush();
  return await t.db.write<AuditRow[]>`
    select actor_type, actor_id, action, resource, tenant_id, request_id, metadata from audit_log
    where action = 'budget.threshold_crossed' and request_id = ${requestId} order by seq`;
}

const chat = { model: "cheap/echo", messages: [{ role: "user", content: "hello" }] };

describe("GET /internal/prices", () => {
  it("lists per model the highest input and output price of any target that can serve it", async () => {
    const response = await app.request(await signed("GET", "/internal/prices"));

    expect(response.status).toBe(200);
    const sheet = priceSheet.parse(await response.json());
    expect(sheet.models).toEqual({
      "cheap/echo": { input: 0.5, output: 8 },
      "cheap/embed": { input: 0.02, output: 0 },
      "dear/echo": { input: 3, output: 6 },
      // Input from dear, output from cheap; the unpriced target cannot lower or raise it.
      "smart-chat": { input: 3, output: 8 },
    });
  });

  it("answers only the edge", async () => {
    const response = await app.request("/internal/prices");
    expect(response.status).toBe(401);
  });
});

describe("x-breakwater-budget-crossed", () => {
  const crossings: BudgetCrossing[] = [
    { budgetId: "budget-1", scope: "key", period: "day", window: "2025-05-01T00:00:00.000Z", used: 8.25, limit: 10 },
    { budgetId: "budget-2", scope: "tenant", period: "month", window: "2025-04-30T22:00:00.000Z", used: 850_000, limit: 1_000_000 },
  ];

  it("writes one budget.threshold_crossed audit event per budget the edge names", async () => {
    const response = await app.request(
      await signed("POST", "/v1/chat/completions", chat, { "x-breakwater-budget-crossed": JSON.stringify(crossings) }),
    );
    expect(response.status).toBe(200);

    const events = await crossingEvents(response.headers.get("x-request-id"));

    expect(events).toEqual([
      expect.objectContaining({
        actor_type: "key",
        actor_id: keyId,
        resource: "budget:budget-1",
        tenant_id: t.tenantId,
        metadata: { key_id: keyId, ...crossings[0] },
      }),
      expect.objectContaining({ resource: "budget:budget-2", tenant_id: t.tenantId, metadata: { key_id: keyId, ...crossings[1] } }),
    ]);
  });

  it.each([
    ["text that is not JSON", "{not json"],
    ["an object instead of a list", JSON.stringify(crossings[0])],
    ["an entry without its budget", JSON.stringify([{ ...crossings[0], budgetId: undefined }])],
    ["a window that is no time", JSON.stringify([{ ...crossings[0], window: "yesterday" }])],
  ])("writes nothing for %s, and the request is still served", async (_, value) => {
    const response = await app.request(await signed("POST", "/v1/chat/completions", chat, { "x-breakwater-budget-crossed": value }));

    expect(response.status).toBe(200);
    expect(await crossingEvents(response.headers.get("x-request-id"))).toEqual([]);
  });

  it("is not believed from a client when regional checks API keys itself", async () => {
    const response = await t.app.request(
      postJson("/v1/chat/completions", chat, t.apiKey, { "x-breakwater-budget-crossed": JSON.stringify(crossings) }),
    );

    expect(response.status).toBe(200);
    expect(await crossingEvents(response.headers.get("x-request-id"))).toEqual([]);
  });
});
