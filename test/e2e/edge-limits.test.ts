import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { generateApiKey, hashApiKey, keyPrefix } from "../../regional/auth/api-key.ts";
import { edgeKeyInvalidator } from "../../regional/auth/edge-key-cache.ts";
import { createLogger } from "../../regional/logger.ts";
import { sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startEdge, startRegional, type RunningProcess } from "../support/processes.ts";

/** Keys, limits, revocation and signatures through `wrangler dev` and the regional process. */

const upstash = { url: inject("upstashUrl"), token: inject("upstashToken") };
let database: TestDatabase;
let sql: postgres.Sql;
let regional: RunningProcess;
let edge: RunningProcess;
let tenantId: string;

beforeAll(async () => {
  database = await createTestDatabase(inject("primaryUrl"));
  regional = await startRegional({
    DATABASE_URL: database.url,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
  });
  edge = await startEdge({ REGIONAL_ORIGIN: regional.url, UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token });
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const [tenant] = await sql<{ id: string }[]>`insert into tenants (name) values ('e2e limits') returning id`;
  tenantId = tenant!.id;
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await regional?.stop();
  await sql?.end();
  await database?.drop();
});

/** A key of the test tenant with these limits, straight into the database. */
async function createKey(limits: { rpm?: number; tpm?: number } = {}): Promise<{ key: string; id: string }> {
  const key = generateApiKey();
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (tenant_id, name, prefix, key_hash, rpm_limit, tpm_limit)
    values (${tenantId}, 'e2e', ${keyPrefix(key)}, ${hashApiKey(key)}, ${limits.rpm ?? 600}, ${limits.tpm ?? 400_000})
    returning id`;
  return { key, id: row!.id };
}

async function chat(key: string, body: Record<string, unknown> = {}): Promise<Response> {
  return await fetch(`${edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "one two three" }], ...body }),
  });
}

describe("through wrangler dev", () => {
  it("limits a key to its requests per minute: 429 in the error shape with Retry-After and RateLimit headers", async () => {
    const { key } = await createKey({ rpm: 3 });
    for (let i = 0; i < 3; i++) {
      const ok = await chat(key);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("ratelimit")).toMatch(
        new RegExp(`^"key-requests";r=${2 - i};t=\\d+, "key-tokens";r=\\d+;t=\\d+, "tenant-requests"`),
      );
      await ok.arrayBuffer();
    }

    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("20");
    expect(refused.headers.get("ratelimit-policy")).toContain('"key-requests";q=3;w=60');
    const body = (await refused.json()) as { error: { code: string; type: string; request_id: string } };
    expect(body.error).toMatchObject({ code: "rate_limited", type: "rate_limit_error", request_id: refused.headers.get("x-request-id") });
  });

  it("lets no more of a concurrent burst through than the limit and what refilled meanwhile", async () => {
    const { key } = await createKey({ rpm: 100 });
    await (await fetch(`${edge.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).arrayBuffer();

    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await fetch(`${edge.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const elapsedMs = Date.now() - started;

    // One request comes back every 600 ms; the exact count with time held still is an edge test.
    const ok = statuses.filter((status) => status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(99);
    expect(ok).toBeLessThanOrEqual(99 + Math.ceil(elapsedMs / 600));
    expect(ok + statuses.filter((status) => status === 429).length).toBe(200);
  });

  it("replaces the token estimate with the usage the regional tier reports", async () => {
    const { key } = await createKey({ tpm: 2_000 });
    // Estimated at 1,500 completion tokens plus the prompt's 8.
    const first = await chat(key, { max_tokens: 1_500 });
    expect(first.headers.get("ratelimit")).toContain('"key-tokens";r=492;');
    const { usage } = (await first.json()) as { usage: { total_tokens: number } };
    expect(usage.total_tokens).toBeLessThan(100);

    // Once the edge settles, only what was used is spent. Tokens also refill (33 a second at
    // this limit), so the check is "at least what is left after the real usage": refill alone
    // would take ~45 s to climb there from the estimate's 492.
    await waitUntil("the token estimate to be settled", async () => {
      const res = await fetch(`${edge.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      const remaining = Number(/"key-tokens";r=(\d+);/.exec(res.headers.get("ratelimit") ?? "")?.[1] ?? -1);
      return remaining >= 2_000 - usage.total_tokens;
    });
    expect((await chat(key, { max_tokens: 1_500 })).status).toBe(200);
  });

  it("stops accepting a revoked key within about a second once its Upstash entry is deleted", async () => {
    const { key, id } = await createKey();
    expect((await chat(key)).status).toBe(200);

    await sql`update api_keys set status = 'revoked', revoked_at = now() where id = ${id}`;
    await edgeKeyInvalidator(upstash, createLogger("silent"))(hashApiKey(key));
    const revoked = Date.now();

    await waitUntil("the edge to refuse the revoked key", async () => (await chat(key)).status === 401, { timeoutMs: 20_000 });
    // With Upstash only the isolate's one-second memory tier may answer after the delete;
    // the bound leaves room for a loaded machine and stays far below the 60 s one.
    expect(Date.now() - revoked).toBeLessThan(5_000);
  });

  it("answers 401 for an unknown key at the edge", async () => {
    const res = await chat(generateApiKey());

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
  });
});

describe("the regional process", () => {
  it("refuses calls that did not come through the edge, even with a valid key", async () => {
    const { key } = await createKey();

    const direct = await fetch(`${regional.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(direct.status).toBe(401);
    expect(((await direct.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");

    const timestampS = Math.floor(Date.now() / 1000);
    const forged = await sign("not-the-edge-secret-but-32-characters-long", {
      method: "GET",
      pathAndQuery: "/v1/models",
      timestampS,
      bodySha256: await sha256Hex(""),
      headers: { "x-breakwater-tenant-id": tenantId, "x-breakwater-key-id": "k" },
    });
    const signedWrongly = await fetch(`${regional.url}/v1/models`, {
      headers: {
        "x-breakwater-tenant-id": tenantId,
        "x-breakwater-key-id": "k",
        [timestampHeader]: String(timestampS),
        [signatureHeader]: forged,
      },
    });
    expect(signedWrongly.status).toBe(401);
  });
});
