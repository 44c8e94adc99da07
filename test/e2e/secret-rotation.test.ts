import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { identityHeaders, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { createPasswordRole, type PasswordRole } from "../support/password-role.ts";
import { startRegional, type RunningProcess } from "../support/processes.ts";
import { startSecretsManagerServer, type SecretsManagerServer } from "../support/secrets-manager-server.ts";

/**
 * The regional process with its database password and edge signing secret in (a local)
 * Secrets Manager, both rotated under load: no request may fail. The cache TTL is an hour,
 * so what carries each rotation is the refresh on refusal, never the TTL.
 */
const passwords = [1, 2, 3].map((n) => `db-password-${n}-${randomBytes(8).toString("hex")}`);
const signingSecrets = [1, 2, 3].map((n) => `edge-signing-${n}-${randomBytes(16).toString("hex")}`);
const devKey = `bw_rotation${randomBytes(8).toString("hex")}`;
const adminKey = `admin-${randomBytes(16).toString("hex")}`;

let sm: SecretsManagerServer;
let role: PasswordRole;
let regional: RunningProcess;

beforeAll(async () => {
  role = await createPasswordRole(inject("primaryUrl"), passwords[0] ?? "");
  sm = await startSecretsManagerServer();
  sm.put("rotation/db", JSON.stringify({ username: role.role, password: passwords[0] }));
  sm.put("rotation/edge-signing", signingSecrets[0] ?? "");
  regional = await startRegional({
    DATABASE_URL: role.url,
    DATABASE_PASSWORD: "secretsmanager:rotation/db#password",
    EDGE_SIGNING_SECRET: "secretsmanager:rotation/edge-signing",
    SECRETS_MANAGER_ENDPOINT: sm.url,
    SECRETS_MANAGER_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    SECRETS_CACHE_TTL_MS: "3600000",
    // New logins all the time, so they meet the rotation.
    DATABASE_MAX_LIFETIME_MS: "300",
    DATABASE_POOL_SIZE: "4",
    KEY_CACHE_TTL_MS: "0",
    ADMIN_API_KEY: adminKey,
    BREAKWATER_DEV_KEY: devKey,
  });
}, 60_000);

afterAll(async () => {
  await regional?.stop();
  await sm?.close();
  await role?.drop();
});

/** What the edge signs with now; the load reads it per request. */
const edge = { secrets: [signingSecrets[0] ?? ""] };

async function signedFetch(path: string, identity: Record<string, string>, body?: string): Promise<Response> {
  const secret = edge.secrets[Math.floor(Math.random() * edge.secrets.length)] ?? "";
  const method = body === undefined ? "GET" : "POST";
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(secret, {
    method,
    pathAndQuery: path,
    timestampS,
    bodySha256: await sha256Hex(body ?? ""),
    headers: identity,
  });
  const headers = { ...identity, [timestampHeader]: String(timestampS), [signatureHeader]: signature, "content-type": "application/json" };
  return await fetch(`${regional.url}${path}`, { method, headers, ...(body !== undefined && { body }) });
}

/** Calls that each touch the database: readiness, a signed key lookup, an audited admin read, a chat. */
function startLoad(identity: Record<string, string>, keyHash: string) {
  const failures: string[] = [];
  let count = 0;
  let running = true;
  const chat = JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "rotate" }] });
  const calls = [
    () => fetch(`${regional.url}/health/ready`),
    () => signedFetch(`/internal/keys/${keyHash}`, {}),
    () => fetch(`${regional.url}/admin/tenants?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } }),
    () => signedFetch("/v1/chat/completions", identity, chat),
  ];
  const workers = Array.from({ length: 8 }, async (_, worker) => {
    for (let i = worker; running; i++) {
      const call = calls[i % calls.length];
      if (!call) continue;
      const response = await call().catch((error: unknown) => error);
      count += 1;
      if (!(response instanceof Response)) failures.push(String(response));
      else if (!response.ok) failures.push(`${response.status} ${response.url.replace(regional.url, "")} ${await response.text()}`);
      else await response.arrayBuffer();
    }
  });
  return {
    count: () => count,
    failures,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));
const callsFor = (secretId: string, stage: string) =>
  sm.calls().filter((call) => call.secretId === secretId && call.stage === stage && call.answer !== "reset");

describe("rotating secrets in Secrets Manager under load", () => {
  it("loses no request while the database password and the edge signing secret rotate", async () => {
    const keyHash = createHash("sha256").update(devKey).digest("hex");
    const record = (await (await signedFetch(`/internal/keys/${keyHash}`, {})).json()) as {
      key_id: string;
      tenant_id: string;
      prefix: string;
    };
    const identity = {
      [identityHeaders.keyId]: record.key_id,
      [identityHeaders.tenantId]: record.tenant_id,
      [identityHeaders.keyPrefix]: record.prefix,
    };
    const load = startLoad(identity, keyHash);
    const counted: number[] = [];
    const mark = () => counted.push(load.count());

    try {
      // Served before anything rotates, however slow the machine starts: phase 0 is the load's own.
      for (let waited = 0; load.count() <= 20 && waited < 10_000; waited += 50) await pause(50);
      mark();
      // The database password as Secrets Manager rotates it: staged as AWSPENDING, set on the
      // database, a moment later made AWSCURRENT. Logins in between get the pending one.
      sm.stagePending("rotation/db", JSON.stringify({ username: role.role, password: passwords[1] }));
      await role.setPassword(passwords[1] ?? "");
      await pause(500);
      sm.finishRotation("rotation/db");
      await pause(500);
      mark();
      // Set by hand, the database first and the secret half a second later, nothing staged.
      await role.setPassword(passwords[2] ?? "");
      const alteredAt = new Date();
      await pause(500);
      sm.put("rotation/db", JSON.stringify({ username: role.role, password: passwords[2] }));
      await pause(1_500);
      mark();

      // The edge signing secret, the edge first: it signs with version 2 before this instance read it.
      sm.put("rotation/edge-signing", signingSecrets[1] ?? "");
      edge.secrets = [signingSecrets[1] ?? ""];
      // Reads on refusal are at most one a second: the next rotation comes after that.
      await pause(1_200);
      mark();
      // Version 3, half the edge's isolates updated: both current and previous are accepted.
      sm.put("rotation/edge-signing", signingSecrets[2] ?? "");
      edge.secrets = [signingSecrets[1] ?? "", signingSecrets[2] ?? ""];
      await pause(1_000);
      mark();

      await load.stop();
      expect(load.failures).toEqual([]);
      // Every phase served requests.
      counted.forEach((count, phase) => expect(count, `phase ${phase}`).toBeGreaterThan((counted[phase - 1] ?? 0) + 20));

      // Logins were refused and retried, not failed: the pending version was asked for, and
      // the role's connections now all logged in after the last change of password.
      expect(regional.output()).toContain("Postgres refused the database password (28P01); reading it again");
      expect(callsFor("rotation/db", "AWSPENDING").length).toBeGreaterThan(0);
      expect(await role.loginsSince(alteredAt)).toBeGreaterThan(0);
      expect(await role.loginWith(passwords[1] ?? "")).toBe("28P01");
      expect(await role.loginWith(passwords[2] ?? "")).toBe("ok");

      // The signing secret was read again on refusal only (the TTL is an hour), and both versions work.
      expect(callsFor("rotation/edge-signing", "AWSCURRENT").length).toBeGreaterThanOrEqual(2);
      for (const secret of signingSecrets.slice(1)) {
        edge.secrets = [secret];
        expect((await signedFetch(`/internal/keys/${keyHash}`, {})).status).toBe(200);
      }
      // Nothing secret reached the log.
      for (const value of [...passwords, ...signingSecrets, adminKey]) expect(regional.output()).not.toContain(value);
    } finally {
      await load.stop();
    }
  }, 60_000);
});
