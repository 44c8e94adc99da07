import { describe, expect, it } from "vitest";
import { isStale, sha256Hex, sign, verify, vouchedHeaders, type SignedParts } from "../../shared/signing.ts";

const secret = "a-shared-secret-of-at-least-32-characters";

async function parts(overrides: Partial<SignedParts> = {}): Promise<SignedParts> {
  return {
    method: "POST",
    pathAndQuery: "/v1/chat/completions?x=1",
    timestampS: 1_750_000_000,
    bodySha256: await sha256Hex('{"model":"m"}'),
    headers: { "x-breakwater-tenant-id": "tenant-a", "x-breakwater-key-id": "key-a" },
    ...overrides,
  };
}

describe("edge request signatures", () => {
  it("verify for the same secret and parts", async () => {
    const signature = await sign(secret, await parts());
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(await verify(secret, await parts(), signature)).toBe(true);
  });

  it.each<[string, Partial<SignedParts>]>([
    ["method", { method: "GET" }],
    ["path", { pathAndQuery: "/v1/embeddings?x=1" }],
    ["query", { pathAndQuery: "/v1/chat/completions?x=2" }],
    ["timestamp", { timestampS: 1_750_000_001 }],
    ["body", { bodySha256: "0".repeat(64) }],
    ["tenant", { headers: { "x-breakwater-tenant-id": "tenant-b", "x-breakwater-key-id": "key-a" } }],
    [
      "an added edge header",
      { headers: { "x-breakwater-tenant-id": "tenant-a", "x-breakwater-key-id": "key-a", "x-breakwater-admin": "1" } },
    ],
    ["a dropped edge header", { headers: { "x-breakwater-tenant-id": "tenant-a" } }],
  ])("fail when the %s changed", async (_, change) => {
    const signature = await sign(secret, await parts());
    expect(await verify(secret, await parts(change), signature)).toBe(false);
  });

  it("fail for another secret and for malformed signatures", async () => {
    const signature = await sign(secret, await parts());
    expect(await verify("another-secret-of-at-least-32-characters", await parts(), signature)).toBe(false);
    for (const bad of ["", "v1=", "v1=zz", `v2=${signature.slice(3)}`, signature.slice(0, -2), signature.toUpperCase()]) {
      expect(await verify(secret, await parts(), bad), bad).toBe(false);
    }
  });

  it("do not depend on header order or name case", async () => {
    const signature = await sign(
      secret,
      await parts({ headers: { "X-Breakwater-Key-Id": "key-a", "x-breakwater-tenant-id": "tenant-a" } }),
    );
    expect(await verify(secret, await parts(), signature)).toBe(true);
  });

  it("vouch for every x-breakwater- header but the signature and timestamp", () => {
    const headers = new Headers({
      "x-breakwater-tenant-id": "t",
      "x-breakwater-signature": "v1=00",
      "x-breakwater-timestamp": "1",
      "content-type": "a",
    });
    expect(vouchedHeaders(headers)).toEqual({ "x-breakwater-tenant-id": "t" });
  });

  it("are stale more than five minutes either side of now", () => {
    const now = 1_750_000_000;
    expect(isStale(now - 300, now)).toBe(false);
    expect(isStale(now + 300, now)).toBe(false);
    expect(isStale(now - 301, now)).toBe(true);
    expect(isStale(now + 301, now)).toBe(true);
    expect(isStale(Number.NaN, now)).toBe(true);
  });
});
