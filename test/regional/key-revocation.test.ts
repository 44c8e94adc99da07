import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";
import { edgeSignedGet, keyRecordPath } from "../support/edge-signed.ts";

const adminKey = "admin-key-for-revocation-tests-0123456789";
const secret = "edge-signing-secret-for-revocation-tests";

/*
 * Revocation against a real primary and a streaming replica whose replay is paused: the
 * replica keeps serving reads (it stays in rotation) but never sees the revocation. What the
 * edge reads for a key — and what regional checks keys against without the edge — must say
 * "revoked" all the same, also once the primary is gone.
 */
describe("a revoked key, with a replica that has not replayed the revocation", () => {
  let cluster: PostgresCluster;
  let t: TestApp;
  let edgeFacing: ReturnType<typeof createApp>;
  let key: string;
  let keyId: string;

  /** What the edge asks on a cache miss: the signed `GET /internal/keys/:sha256`. */
  const edgeLookup = async (): Promise<Response> => {
    const path = keyRecordPath(key);
    return await edgeFacing.request(`http://regional.test${path}`, { headers: await edgeSignedGet(secret, path) });
  };
  /** Regional checking the key itself (no edge in front, as in tests and local mode). */
  const directCall = async (): Promise<number> =>
    (await t.app.request("/v1/models", { headers: { authorization: `Bearer ${key}` } })).status;

  beforeAll(async () => {
    cluster = await startPostgres();
    // The replica never leaves rotation for lag here; health is checked when the test says.
    t = await createTestApp(cluster.primaryUrl, {
      adminKey,
      replicaServerUrl: cluster.replicaUrl,
      db: { maxReplicaLagMs: 600_000, healthCheckIntervalMs: 600_000 },
    });
    edgeFacing = createApp({ ...t.deps, edgeSigningSecret: secret });
    const created = await t.app.request(`/admin/tenants/${t.tenantId}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: "{}",
    });
    ({ key, id: keyId } = (await created.json()) as { key: string; id: string });
    await cluster.waitForReplay();
    await t.db.checkHealth();
    expect(await t.db.read()).not.toBe(t.db.write);
    expect(((await (await edgeLookup()).json()) as KeyRecord).status).toBe("active");
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await cluster?.stop();
  });

  it("is looked up as revoked at once, by the edge and by regional itself", async () => {
    await cluster.pauseReplay();
    const revoked = await t.app.request(`/admin/keys/${keyId}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoked.status).toBe(200);
    // The replica still has the key as active: a plain read there would hand it out again.
    const [stale] = await (await t.db.read())<{ status: string }[]>`select status from api_keys where id = ${keyId}`;
    expect(stale?.status).toBe("active");

    const lookup = await edgeLookup();
    expect(lookup.status).toBe(200);
    expect(((await lookup.json()) as KeyRecord).status).toBe("revoked");
    expect(await directCall()).toBe(401);
  });

  it("is never looked up as active while the primary is down and the replica still lags behind the revocation", async () => {
    await cluster.stopPrimary("immediate");
    await t.db.checkHealth();
    expect(t.db.health().primary.up).toBe(false);

    const lookup = await edgeLookup();
    expect(lookup.status).toBe(503);
    expect(await directCall()).toBe(503);

    // Once the replica has replayed the revocation it may answer for the primary.
    await cluster.resumeReplay();
    await waitUntil("the replica to replay the revocation", async () => {
      const [row] = await (await t.db.read())<{ status: string }[]>`select status from api_keys where id = ${keyId}`;
      return row?.status === "revoked";
    });
    await t.db.checkHealth();
    const later = await edgeLookup();
    expect(later.status).toBe(200);
    expect(((await later.json()) as KeyRecord).status).toBe("revoked");
    expect(await directCall()).toBe(401);
    await cluster.startPrimary();
  }, 60_000);
});
