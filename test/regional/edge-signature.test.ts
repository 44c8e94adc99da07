import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { hashApiKey } from "../../regional/auth/api-key.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { createReplayGuard } from "../../regional/http/replay-guard.ts";
import {
  coversHeader,
  identityHeaders,
  maxSignatureAgeS,
  nonceHeader,
  sha256Hex,
  sign,
  signatureHeader,
  timestampHeader,
} from "../../shared/signing.ts";
import { createTestApp, postJson, type TestApp } from "../support/regional-app.ts";

const secret = "edge-signing-secret-for-the-regional-tests";
let t: TestApp;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { maxBodyBytes: 64 * 1024 });
  app = createApp({ ...t.deps, edgeSigningSecret: secret });
  // Shows which tenant and key a handler was given.
  app.get("/v1/whoami", (c) => c.json(c.get("auth")));
});
afterAll(async () => t?.close());

interface SignOptions {
  method?: string;
  path?: string;
  body?: string;
  identity?: Record<string, string>;
  timestampS?: number;
  secret?: string;
  /** Ordinary headers the signature covers too (as the edge covers request id, idempotency key, content type). */
  covered?: Record<string, string>;
  /** Changes the request after it was signed. */
  tamper?: (request: { path: string; body?: string; headers: Record<string, string> }) => void;
}

/** A request as the edge sends it: signed, with the identity it vouches for. */
async function signed(options: SignOptions = {}): Promise<Request> {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const path = options.path ?? "/v1/models";
  const identity = options.identity ?? {
    [identityHeaders.keyId]: "key-1",
    [identityHeaders.tenantId]: t.tenantId,
    [identityHeaders.keyPrefix]: "bw_abcdefgh",
  };
  const timestampS = options.timestampS ?? Math.floor(Date.now() / 1000);
  const covered = options.covered ?? {};
  const vouched = Object.keys(covered).length > 0 ? { ...identity, [coversHeader]: Object.keys(covered).join(",") } : identity;
  const signature = await sign(options.secret ?? secret, {
    method,
    pathAndQuery: path,
    timestampS,
    bodySha256: await sha256Hex(options.body ?? ""),
    headers: { ...vouched, ...covered },
  });
  const request = {
    path,
    body: options.body,
    headers: {
      "content-type": "application/json",
      ...covered,
      ...vouched,
      [timestampHeader]: String(timestampS),
      [signatureHeader]: signature,
    } as Record<string, string>,
  };
  options.tamper?.(request);
  return new Request(`http://regional.test${request.path}`, { method, headers: request.headers, body: request.body });
}

async function expectUnsigned(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
}

const chatBody = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "signed hello" }] });

describe("with EDGE_SIGNING_SECRET, the regional tier", () => {
  it("serves a request the edge signed, with the body it signed", async () => {
    const response = await app.request(await signed({ path: "/v1/chat/completions", body: chatBody }));

    expect(response.status).toBe(200);
    const completion = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(completion.choices[0]?.message.content).toBe("signed hello");
  });

  it("takes the tenant and key from the signed headers", async () => {
    const response = await app.request(await signed({ path: "/v1/whoami" }));

    expect(await response.json()).toEqual({ keyId: "key-1", tenantId: t.tenantId, prefix: "bw_abcdefgh" });
  });

  it("rejects an unsigned request with 401 invalid_signature, even with a valid API key", async () => {
    await expectUnsigned(await app.request(postJson("/v1/chat/completions", chatBody, t.apiKey)));
    await expectUnsigned(await app.request(new Request("http://regional.test/v1/models")));
  });

  it.each<[string, SignOptions["tamper"]]>([
    ["body", (request) => (request.body = chatBody.replace("signed hello", "other words"))],
    ["path", (request) => (request.path = "/v1/embeddings")],
    ["query", (request) => (request.path = "/v1/chat/completions?admin=1")],
    ["tenant", (request) => (request.headers[identityHeaders.tenantId] = "00000000-0000-0000-0000-000000000000")],
    ["added edge header", (request) => (request.headers["x-breakwater-role"] = "admin")],
    ["timestamp", (request) => (request.headers[timestampHeader] = String(Number(request.headers[timestampHeader]) + 1))],
    [
      "signature",
      (request) => (request.headers[signatureHeader] = request.headers[signatureHeader]!.replace(/.$/, (c) => (c === "0" ? "1" : "0"))),
    ],
  ])("rejects a request whose %s was changed after signing", async (_, tamper) => {
    await expectUnsigned(await app.request(await signed({ path: "/v1/chat/completions", body: chatBody, tamper })));
  });

  it("rejects a signature made with another secret", async () => {
    await expectUnsigned(await app.request(await signed({ secret: "some-other-secret-of-32-characters-or-more" })));
  });

  it("rejects signatures older or newer than five minutes", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectUnsigned(await app.request(await signed({ timestampS: now - 301 })));
    await expectUnsigned(await app.request(await signed({ timestampS: now + 301 })));
    expect((await app.request(await signed({ timestampS: now - 290 }))).status).toBe(200);
  });

  it("rejects a signed /v1 request that names no tenant", async () => {
    await expectUnsigned(await app.request(await signed({ identity: {} })));
  });

  it("answers 413 for a body over the limit before checking anything else", async () => {
    const response = await app.request(
      await signed({ path: "/v1/chat/completions", body: JSON.stringify({ pad: "x".repeat(64 * 1024) }) }),
    );

    expect(response.status).toBe(413);
  });
});

describe("GET /internal/keys/:sha256", () => {
  const path = (key: string) => `/internal/keys/${hashApiKey(key).toString("hex")}`;

  it("answers the key's record with tenant, status and the default limits", async () => {
    const response = await app.request(await signed({ path: path(t.apiKey), identity: {} }));

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const record = (await response.json()) as KeyRecord;
    expect(record).toMatchObject({
      tenant_id: t.tenantId,
      prefix: t.apiKey.slice(0, 11),
      status: "active",
      limits: { rpm: 600, tpm: 400_000 },
      tenant_limits: { rpm: 3_000, tpm: 2_000_000 },
    });
    expect(JSON.stringify(record)).not.toContain(t.apiKey.slice(11));
  });

  it("answers each key's own limits and says when it is revoked or its tenant disabled", async () => {
    const [tenant] = await t.db.write<
      { id: string }[]
    >`insert into tenants (name, rpm_limit, tpm_limit) values ('limited', 50, 5000) returning id`;
    const { key, record } = await t.keys.create(tenant!.id, "x");
    await t.db.write`update api_keys set rpm_limit = 5, tpm_limit = 500 where id = ${record.keyId}`;

    const read = async () => (await (await app.request(await signed({ path: path(key), identity: {} }))).json()) as KeyRecord;
    expect(await read()).toMatchObject({
      key_id: record.keyId,
      status: "active",
      limits: { rpm: 5, tpm: 500 },
      tenant_limits: { rpm: 50, tpm: 5_000 },
    });
    await t.db.write`update tenants set status = 'disabled' where id = ${tenant!.id}`;
    expect((await read()).status).toBe("tenant_disabled");
    await t.db.write`update api_keys set status = 'revoked' where id = ${record.keyId}`;
    expect((await read()).status).toBe("revoked");
  });

  it("answers 404 for a hash no key has", async () => {
    const response = await app.request(await signed({ path: `/internal/keys/${"0".repeat(64)}`, identity: {} }));

    expect(response.status).toBe(404);
  });

  it("is only for the edge: unsigned it is 401, and without a signing secret it does not exist", async () => {
    await expectUnsigned(await app.request(new Request(`http://regional.test${path(t.apiKey)}`)));
    expect((await t.app.request(await signed({ path: path(t.apiKey), identity: {} }))).status).toBe(404);
  });
});

describe("replayed calls", () => {
  const withNonce = (nonce: string) => ({
    [identityHeaders.keyId]: "key-1",
    [identityHeaders.tenantId]: t.tenantId,
    [identityHeaders.keyPrefix]: "bw_abcdefgh",
    [nonceHeader]: nonce,
  });

  it("takes a signed call once: the same call sent again is refused, even with another Idempotency-Key", async () => {
    const nonce = crypto.randomUUID();
    const call = { path: "/v1/chat/completions", body: chatBody, identity: withNonce(nonce) };
    expect((await app.request(await signed(call))).status).toBe(200);
    const again = await signed({ ...call, tamper: (request) => void (request.headers["idempotency-key"] = "another-key") });
    await expectUnsigned(await app.request(again));
    expect((await app.request(await signed({ ...call, identity: withNonce(crypto.randomUUID()) }))).status).toBe(200);
  });

  it("cannot be made new by changing or removing the nonce: the signature covers it", async () => {
    const nonce = crypto.randomUUID();
    await app.request(await signed({ path: "/v1/models", identity: withNonce(nonce) }));
    await expectUnsigned(
      await app.request(
        await signed({
          path: "/v1/models",
          identity: withNonce(nonce),
          tamper: (request) => void (request.headers[nonceHeader] = crypto.randomUUID()),
        }),
      ),
    );
    await expectUnsigned(
      await app.request(
        await signed({ path: "/v1/models", identity: withNonce(nonce), tamper: (request) => void delete request.headers[nonceHeader] }),
      ),
    );
  });
});

describe("covered ordinary headers", () => {
  const covered = { "x-request-id": "req-covered-0001", "idempotency-key": "idem-1", "content-type": "application/json" };

  it("accepts a call whose covered headers arrive as signed", async () => {
    expect((await app.request(await signed({ path: "/v1/chat/completions", body: chatBody, covered }))).status).toBe(200);
  });

  it("refuses one whose Idempotency-Key, request id or content type changed on the way, or whose cover list was cut", async () => {
    const call = { path: "/v1/chat/completions", body: chatBody, covered };
    await expectUnsigned(
      await app.request(await signed({ ...call, tamper: (request) => void (request.headers["idempotency-key"] = "idem-2") })),
    );
    await expectUnsigned(
      await app.request(await signed({ ...call, tamper: (request) => void (request.headers["x-request-id"] = "req-other-0002") })),
    );
    await expectUnsigned(
      await app.request(await signed({ ...call, tamper: (request) => void (request.headers["content-type"] = "text/plain") })),
    );
    await expectUnsigned(await app.request(await signed({ ...call, tamper: (request) => void delete request.headers[coversHeader] })));
  });
});

describe("the replay guard", () => {
  it("forgets a nonce once no signature carrying it could be accepted, and stays bounded", async () => {
    let now = 0;
    const guard = createReplayGuard({ now: () => now, maxEntries: 2 });
    expect(await guard.firstUse("a")).toBe(true);
    expect(await guard.firstUse("a")).toBe(false);
    now += 2 * maxSignatureAgeS * 1000 + 1;
    expect(await guard.firstUse("a")).toBe(true);
    await guard.firstUse("b");
    await guard.firstUse("c");
    // Full: the oldest ("a") made room.
    expect(await guard.firstUse("b")).toBe(false);
    expect(await guard.firstUse("a")).toBe(true);
  });
});

describe("the replay guard over Redis", () => {
  it("refuses on one regional instance a call another instance already took", async () => {
    const [first, second] = [createReplayGuard({ redisUrl: inject("redisUrl") }), createReplayGuard({ redisUrl: inject("redisUrl") })];
    try {
      const nonce = crypto.randomUUID();
      // Let both connect: a guard whose Redis is not up yet checks in memory only.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await first.firstUse(nonce)).toBe(true);
      expect(await second.firstUse(nonce)).toBe(false);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
