import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { createLogger } from "../../regional/logger.ts";
import { buildProviders } from "../../regional/providers/from-config.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { createSecrets } from "../../regional/secrets/secrets.ts";
import { secretsManagerSource } from "../../regional/secrets/secrets-manager.ts";
import { resolveSecretSettings } from "../../regional/secrets/settings.ts";
import { rotatingSigningSecrets } from "../../regional/secrets/signing-secrets.ts";
import { createSecretStore, type SecretStoreOptions } from "../../regional/secrets/store.ts";
import { GatewayError } from "../../shared/error.ts";
import { identityHeaders, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { sendJson, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";
import { startSecretsManagerServer, type SecretsManagerServer } from "../support/secrets-manager-server.ts";

let sm: SecretsManagerServer;
beforeAll(async () => {
  sm = await startSecretsManagerServer();
});
afterAll(async () => sm?.close());

/** The real SDK against the local server; tests advance `clock.ms` instead of sleeping. */
function setUp(options: Partial<Pick<SecretStoreOptions, "ttlMs" | "random" | "minRefreshIntervalMs">> = {}) {
  const clock = { ms: 1_000_000 };
  const lines: string[] = [];
  const logger = createLogger("debug", (line) => lines.push(line));
  const source = secretsManagerSource({
    endpoint: sm.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 3,
  });
  const store = createSecretStore({
    source,
    ttlMs: options.ttlMs ?? 60_000,
    logger,
    now: () => clock.ms,
    random: options.random ?? (() => 0),
    minRefreshIntervalMs: options.minRefreshIntervalMs ?? 1_000,
  });
  return { secrets: createSecrets(store, logger), store, clock, lines, log: () => lines.join("\n") };
}

const callsFor = (secretId: string, stage = "AWSCURRENT") =>
  sm.calls().filter((call) => call.secretId === secretId && call.stage === stage);
const settle = () => new Promise((done) => setTimeout(done, 50));
async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

describe("secret references, resolved at start through the real SDK", () => {
  it("replace a setting by the whole secret, or by one key of a JSON secret, named or by ARN", async () => {
    sm.put("start/admin", "admin-key-from-secrets-manager-0123456789");
    sm.put("rds!db-0a1b2c", JSON.stringify({ username: "breakwater", password: "pw-from-rds-rotation" }));
    const { secrets } = setUp();

    const settings = await resolveSecretSettings(
      {
        ADMIN_API_KEY: "secretsmanager:start/admin",
        DATABASE_PASSWORD: "secretsmanager:rds!db-0a1b2c#password",
        UPSTASH_REDIS_REST_TOKEN: `secretsmanager:${sm.arnOf("start/admin")}`,
        REGION: "eu-west",
        OPENAI_API_KEY: "sk-literal",
      },
      secrets,
    );

    expect(settings.env).toMatchObject({
      ADMIN_API_KEY: "admin-key-from-secrets-manager-0123456789",
      DATABASE_PASSWORD: "pw-from-rds-rotation",
      UPSTASH_REDIS_REST_TOKEN: "admin-key-from-secrets-manager-0123456789",
      REGION: "eu-west",
      OPENAI_API_KEY: "sk-literal",
    });
    expect(settings.references).toEqual({
      ADMIN_API_KEY: { name: "start/admin" },
      DATABASE_PASSWORD: { name: "rds!db-0a1b2c", jsonKey: "password" },
      UPSTASH_REDIS_REST_TOKEN: { name: sm.arnOf("start/admin") },
    });
    expect(callsFor("start/admin").every((call) => call.signed)).toBe(true);
  });

  it("leave provider keys as references, for their providers to read on every call", async () => {
    sm.put("start/openai", "sk-openai-from-secrets-manager");
    const settings = await resolveSecretSettings({ OPENAI_API_KEY: "secretsmanager:start/openai" }, setUp().secrets);

    expect(settings.env.OPENAI_API_KEY).toBe("secretsmanager:start/openai");
    expect(callsFor("start/openai")).toHaveLength(1);
  });

  it("stop start-up naming the setting and the reference, never the value", async () => {
    sm.put("start/not-json", "the-secret-value-itself");
    sm.put("start/json", JSON.stringify({ other: "the-other-secret-value" }));
    const { secrets } = setUp();

    const failure = resolveSecretSettings(
      {
        ADMIN_API_KEY: "secretsmanager:start/missing",
        DATABASE_PASSWORD: "secretsmanager:start/not-json#password",
        AUDIT_CHECKPOINT_SECRET: "secretsmanager:start/json#key",
      },
      secrets,
    );

    await expect(failure).rejects.toThrow(
      /ADMIN_API_KEY: secretsmanager:start\/missing \(AWSCURRENT\) could not be read: ResourceNotFoundException/,
    );
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain("DATABASE_PASSWORD: secretsmanager:start/not-json#password (AWSCURRENT): is not JSON");
    expect(message).toContain("AUDIT_CHECKPOINT_SECRET: secretsmanager:start/json#key (AWSCURRENT): has no key 'key'");
    expect(message).not.toMatch(/the-secret-value-itself|the-other-secret-value/);
    await expect(resolveSecretSettings({ EDGE_SIGNING_SECRET: "secretsmanager:" }, secrets)).rejects.toThrow(
      /EDGE_SIGNING_SECRET: needs a secret name/,
    );
  });
});

describe("the secret cache", () => {
  it("serves a value from memory until its TTL plus jitter, then reads it again without making anyone wait", async () => {
    sm.put("cache/ttl", "value-1");
    const { secrets, clock } = setUp({ ttlMs: 10_000, random: () => 1 });
    const secret = secrets.secret({ name: "cache/ttl" });
    await secrets.prime();
    sm.put("cache/ttl", "value-2");

    clock.ms += 10_999; // within TTL + 10 % jitter
    expect(secret.current()).toBe("value-1");
    await settle();
    expect(callsFor("cache/ttl")).toHaveLength(1);

    clock.ms += 2; // past it: the stale value is served while it is read again
    expect(secret.current()).toBe("value-1");
    await until("the background read", () => callsFor("cache/ttl").length === 2);
    await settle();
    expect(secret.current()).toBe("value-2");
  });

  it("makes one call for 100 concurrent reads, and one for 100 concurrent refreshes", async () => {
    sm.put("cache/flight", JSON.stringify({ key: "flight-value" }));
    const { secrets, clock } = setUp();
    const secret = secrets.secret({ name: "cache/flight", jsonKey: "key" });

    const values = await Promise.all(Array.from({ length: 100 }, () => secret.get()));
    expect(new Set(values)).toEqual(new Set(["flight-value"]));
    expect(callsFor("cache/flight")).toHaveLength(1);

    sm.put("cache/flight", JSON.stringify({ key: "flight-value-2" }));
    clock.ms += 1_000; // refreshes closer than a second to the last read would share it
    const refreshed = await Promise.all(Array.from({ length: 100 }, () => secret.refresh("test")));
    expect(new Set(refreshed)).toEqual(new Set(["flight-value-2"]));
    expect(callsFor("cache/flight")).toHaveLength(2);
  });

  it("rides out throttling with the SDK's retries", async () => {
    sm.put("cache/throttled", "throttled-value");
    sm.throttle(1);
    const { secrets } = setUp();

    expect(await secrets.secret({ name: "cache/throttled" }).get()).toBe("throttled-value");
    expect(callsFor("cache/throttled").map((call) => call.answer)).toEqual(["throttled", "ok"]);
  });

  it("keeps the last good value while Secrets Manager is unreachable, logged and counted, and never logs a value", async () => {
    sm.put("cache/outage", "value-before-outage");
    const { secrets, clock, log } = setUp({ ttlMs: 1_000 });
    const secret = secrets.secret({ name: "cache/outage" });
    await secrets.prime();

    sm.outage(true);
    try {
      clock.ms += 2_000;
      expect(secret.current()).toBe("value-before-outage");
      await until("the failed read", () => secrets.stats().failures === 1);
      expect(secret.current()).toBe("value-before-outage");
      expect(await secret.refresh("provider refused it")).toBe("value-before-outage");
    } finally {
      sm.outage(false);
    }
    expect(secrets.stats()).toMatchObject({ failures: 1, lastGoodServed: 1 });
    expect(
      log()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toContainEqual(
      expect.objectContaining({
        msg: "Secrets Manager could not be read; the last good value stays in use",
        reference: "secretsmanager:cache/outage (AWSCURRENT)",
      }),
    );

    sm.put("cache/outage", "value-after-outage");
    clock.ms += 20_000;
    secret.current();
    await until("the read after the outage", () => secret.current() === "value-after-outage");
    expect(log()).not.toMatch(/value-before-outage|value-after-outage/);
  });

  it("keeps the last good value when a new version lacks the key", async () => {
    sm.put("cache/shape", JSON.stringify({ password: "good-password" }));
    const { secrets, log } = setUp({ minRefreshIntervalMs: 0 });
    const secret = secrets.secret({ name: "cache/shape", jsonKey: "password" });
    await secrets.prime();

    sm.put("cache/shape", JSON.stringify({ pass: "misnamed" }));
    expect(await secret.refresh("test")).toBe("good-password");
    expect(log()).toContain("a new version of a secret cannot be used");
    expect(log()).not.toMatch(/good-password|misnamed/);
  });
});

describe("provider keys from Secrets Manager", () => {
  let upstream: FakeUpstream;
  let acceptedKey = "";
  beforeAll(async () => {
    upstream = await startFakeUpstream((request, response) => {
      const given = request.headers.authorization?.replace(/^Bearer /, "") ?? request.headers["x-api-key"];
      if (given !== acceptedKey)
        return sendJson(response, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } });
      if (request.path.endsWith("/messages")) {
        return sendJson(response, 200, {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: "m",
          content: [{ type: "text", text: "hi" }],
          stop_reason: "end_turn",
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 1 },
        });
      }
      return sendJson(response, 200, {
        id: "c1",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    });
  });
  afterAll(async () => upstream?.close());

  const chatOnce = (provider: Provider) =>
    provider
      .chat({ model: "m", messages: [{ role: "user", content: "hello" }] }, { signal: new AbortController().signal, requestId: "r1" })
      .then(
        () => "ok",
        (error: unknown) => (error instanceof GatewayError ? `${error.code} ${error.upstreamStatus ?? ""}`.trim() : String(error)),
      );

  it.each([
    ["openai", "providers/openai-key", { type: "openai" as const, baseUrl: "" }],
    ["anthropic", "providers/anthropic-key", { type: "anthropic" as const }],
  ])("a %s provider that refuses the key reads the rotated one, used from the next call", async (_type, name, shape) => {
    sm.put(name, JSON.stringify({ apiKey: `${name}-1` }));
    acceptedKey = `${name}-1`;
    // A TTL far away: only the refusal can make the provider read the key again.
    const { secrets } = setUp({ ttlMs: 3_600_000, minRefreshIntervalMs: 0 });
    const baseUrl = shape.type === "openai" ? upstream.baseUrl : upstream.baseUrl.replace(/\/v1$/, "");
    const spec = {
      ...shape,
      baseUrl,
      apiKey: { from: "secretsmanager" as const, name, jsonKey: "apiKey" },
      models: [{ id: "m", kind: "chat" as const }],
    };
    secrets.secret(spec.apiKey);
    await secrets.prime();
    const [provider] = buildProviders({ p: spec }, { env: {}, mocks: false, secrets });
    if (!provider) throw new Error("no provider");

    expect(await chatOnce(provider)).toBe("ok");
    sm.put(name, JSON.stringify({ apiKey: `${name}-2` }));
    acceptedKey = `${name}-2`;
    expect(await chatOnce(provider)).toBe("upstream_error 401");
    await until("the key to be read again", () => callsFor(name).length === 2);
    await settle();
    expect(await chatOnce(provider)).toBe("ok");

    const sent = upstream.requests.slice(-3).map((request) => request.headers.authorization ?? request.headers["x-api-key"]);
    expect(sent.map((header) => String(header).replace(/^Bearer /, ""))).toEqual([`${name}-1`, `${name}-1`, `${name}-2`]);
  });
});

describe("edge signing secret rotation", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(inject("primaryUrl"));
  });
  afterAll(async () => t?.close());

  const identity = () => ({
    [identityHeaders.keyId]: "key-1",
    [identityHeaders.tenantId]: t.tenantId,
    [identityHeaders.keyPrefix]: "bw_abcdefgh",
  });
  async function signedRequest(secret: string): Promise<Request> {
    const timestampS = Math.floor(Date.now() / 1000);
    const headers = identity();
    const signature = await sign(secret, {
      method: "GET",
      pathAndQuery: "/v1/models",
      timestampS,
      bodySha256: await sha256Hex(""),
      headers,
    });
    return new Request("http://regional.test/v1/models", {
      headers: { ...headers, [timestampHeader]: String(timestampS), [signatureHeader]: signature },
    });
  }

  /** Requests signed with whatever `edge.secret` is when each is sent, `workers` at a time, until `stop()`. */
  function load(edge: { secret: string }, app: ReturnType<typeof createApp>, workers = 8) {
    const statuses: number[] = [];
    let running = true;
    const done = Promise.all(
      Array.from({ length: workers }, async () => {
        while (running) statuses.push((await app.request(await signedRequest(edge.secret))).status);
      }),
    );
    return {
      statuses,
      async stop() {
        running = false;
        await done;
      },
    };
  }

  it("loses no request under load while the secret rotates, whichever tier takes the new one first", async () => {
    const name = "edge/signing";
    sm.put(name, "edge-signing-secret-version-1-0123456789abcdef");
    // A TTL far away: what is pinned is rotation before this instance's cache expires.
    const { secrets, clock, log } = setUp({ ttlMs: 3_600_000 });
    const signing = rotatingSigningSecrets(secrets, { name });
    await secrets.prime();
    const app = createApp({ ...t.deps, edgeSigningSecret: signing });
    const edge = { secret: "edge-signing-secret-version-1-0123456789abcdef" };
    const running = load(edge, app);
    // Each step a few seconds later on the cache's clock, as rotations are.
    const pause = async () => {
      await new Promise((done) => setTimeout(done, 150));
      clock.ms += 2_000;
    };

    await pause();
    // The edge first: it signs with version 2 while this instance still holds version 1 as current.
    sm.put(name, "edge-signing-secret-version-2-0123456789abcdef");
    edge.secret = "edge-signing-secret-version-2-0123456789abcdef";
    await pause();
    // Regional first: version 3 is current in Secrets Manager and read here, the edge still signs with 2 (now AWSPREVIOUS).
    sm.put(name, "edge-signing-secret-version-3-0123456789abcdef");
    await signing.refreshed();
    await pause();
    edge.secret = "edge-signing-secret-version-3-0123456789abcdef";
    await pause();
    await running.stop();

    expect(running.statuses.length).toBeGreaterThan(100);
    expect(running.statuses.filter((status) => status !== 200)).toEqual([]);
    expect(signing.accepted()).toEqual([
      "edge-signing-secret-version-3-0123456789abcdef",
      "edge-signing-secret-version-2-0123456789abcdef",
    ]);
    expect(log()).not.toContain("edge-signing-secret-version");
  });

  it("refuses a signature no version verifies, reading Secrets Manager at most once a second for it", async () => {
    const name = "edge/signing-refusals";
    sm.put(name, "edge-signing-secret-refusals-0123456789abcdef");
    const { secrets, clock } = setUp({ ttlMs: 3_600_000 });
    const app = createApp({ ...t.deps, edgeSigningSecret: rotatingSigningSecrets(secrets, { name }) });
    await secrets.prime();
    clock.ms += 5_000;
    const before = callsFor(name).length;

    const statuses = await Promise.all(
      Array.from(
        { length: 20 },
        async () => (await app.request(await signedRequest("a-secret-that-was-never-the-edges-0123456789"))).status,
      ),
    );

    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(callsFor(name).length - before).toBe(1);
    expect((await app.request(await signedRequest("edge-signing-secret-refusals-0123456789abcdef"))).status).toBe(200);
  });
});
