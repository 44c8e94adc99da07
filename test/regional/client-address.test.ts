import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { clientIpHeader } from "../../shared/signing.ts";
import { auditIdHeader } from "../../regional/http/admin-audit.ts";
import { clientAddress, clientAddressing, edgeVouchedClient, resolveClientAddress } from "../../regional/http/client-ip.ts";
import type { AppEnv } from "../../regional/http/context.ts";
import { parseCidr, trustedProxies } from "../../regional/http/trusted-proxies.ts";
import { listen, type RunningServer } from "../../regional/server.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const adminKey = "admin-key-for-client-address-tests-0123456789";

interface Served {
  t: TestApp;
  server: RunningServer;
}

async function serve(trusted: string[]): Promise<Served> {
  const t = await createTestApp(inject("primaryUrl"), { adminKey, trustedProxies: trusted, authFailuresPerMinute: 10 });
  return { t, server: await listen(t.app, "127.0.0.1", 0) };
}

interface AuditEntry {
  event_id: string;
  action: string;
  ip: string | null;
  metadata: Record<string, unknown>;
}

async function auditEntries(served: Served, action: string): Promise<AuditEntry[]> {
  await served.t.deps.audit.flush();
  const response = await served.t.app.request(`/admin/audit?action=${action}&limit=500`, {
    headers: { authorization: `Bearer ${adminKey}` },
  });
  return ((await response.json()) as { data: AuditEntry[] }).data;
}

/** An admin call over a real socket from 127.0.0.1, claiming to come from elsewhere. */
async function adminCall(served: Served, forwardedFor: string, key = adminKey): Promise<Response> {
  return await fetch(`${served.server.url}/admin/tenants?limit=1`, {
    headers: { authorization: `Bearer ${key}`, "x-forwarded-for": forwardedFor, "cf-connecting-ip": forwardedFor.split(",")[0] ?? "" },
  });
}

let open: Served;
let behindProxy: Served;
beforeAll(async () => {
  open = await serve([]);
  behindProxy = await serve(["127.0.0.0/8", "10.0.0.0/8"]);
});
afterAll(async () => {
  for (const served of [open, behindProxy]) {
    await served?.server.close(0);
    await served?.t.close();
  }
});

describe("the client address of a request", () => {
  it("is the peer, not what X-Forwarded-For claims, when the peer is no trusted proxy; the claim is kept beside it", async () => {
    const response = await adminCall(open, "203.0.113.7");
    expect(response.status).toBe(200);
    const id = response.headers.get(auditIdHeader);
    const event = (await auditEntries(open, "tenant.list")).find((entry) => entry.event_id === id);
    expect(event).toMatchObject({ ip: "127.0.0.1", metadata: { peer: "127.0.0.1", forwarded_for: "203.0.113.7" } });
  });

  it("is the first address past the trusted proxies, read from the right, when the peer is one", async () => {
    // The client prepended 198.51.100.1 itself; 10.1.2.3 is a trusted proxy in between.
    const response = await fetch(`${behindProxy.server.url}/admin/tenants?limit=1`, {
      headers: { authorization: `Bearer ${adminKey}`, "x-forwarded-for": "198.51.100.1, 203.0.113.7, 10.1.2.3" },
    });
    const id = response.headers.get(auditIdHeader);
    const event = (await auditEntries(behindProxy, "tenant.list")).find((entry) => entry.event_id === id);
    expect(event).toMatchObject({
      ip: "203.0.113.7",
      metadata: { peer: "127.0.0.1", forwarded_for: "198.51.100.1, 203.0.113.7, 10.1.2.3" },
    });
  });

  it("keys auth-failure sampling by the peer, so changing X-Forwarded-For on every try buys no extra audit events", async () => {
    const tries = 30;
    for (let i = 0; i < tries; i++) expect((await adminCall(open, `198.51.100.${i + 1}`, "wrong-admin-key")).status).toBe(401);
    const failures = await auditEntries(open, "admin.auth_failure");
    // One client address: its burst of 5, the rest counted, not listed.
    expect(failures.length).toBe(5);
    for (const failure of failures) expect(failure).toMatchObject({ ip: "127.0.0.1", metadata: { peer: "127.0.0.1" } });
  });
});

describe("resolving the client address", () => {
  const app = (trusted: string[]) =>
    new Hono<AppEnv>()
      .use(clientAddressing(trustedProxies(trusted)))
      .get("/", (c) => c.json(resolveClientAddress(c, trustedProxies(trusted))));

  it("believes no header without a socket peer to trust", async () => {
    const body = await (await app(["0.0.0.0/0"]).request("/", { headers: { "x-forwarded-for": "203.0.113.7" } })).json();
    expect(body).toEqual({ peer: null, client: null, claimed: "203.0.113.7" });
  });

  it("takes the address the edge vouched for in its signed headers on signed routes", async () => {
    const signedApp = new Hono<AppEnv>()
      .use(clientAddressing())
      .use(edgeVouchedClient())
      .get("/", (c) => c.json(clientAddress(c)));
    expect(
      await (await signedApp.request("/", { headers: { [clientIpHeader]: "203.0.113.9", "x-forwarded-for": "198.51.100.1" } })).json(),
    ).toEqual({ peer: null, client: "203.0.113.9", claimed: "198.51.100.1" });
    // Not an address: ignored.
    expect(await (await signedApp.request("/", { headers: { [clientIpHeader]: "somewhere" } })).json()).toMatchObject({ client: null });
  });

  it("parses TRUSTED_PROXIES entries: addresses and CIDRs, IPv4 and IPv6, and matches IPv4-mapped peers", () => {
    expect(parseCidr("10.0.0.0/8")).toEqual({ address: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseCidr("2001:db8::/32")).toEqual({ address: "2001:db8::", prefix: 32, family: "ipv6" });
    expect(parseCidr("192.0.2.1")).toEqual({ address: "192.0.2.1", prefix: 32, family: "ipv4" });
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "example.com", "10.0.0.0/8/1", ""]) expect(parseCidr(bad), bad).toBeNull();
    const proxies = trustedProxies(["10.0.0.0/8", "2001:db8::/32"]);
    expect(proxies.trusts("10.200.0.1")).toBe(true);
    expect(proxies.trusts("::ffff:10.200.0.1")).toBe(true);
    expect(proxies.trusts("2001:db8::1")).toBe(true);
    expect(proxies.trusts("11.0.0.1")).toBe(false);
    expect(proxies.trusts(null)).toBe(false);
  });
});
