import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AppEnv } from "../../regional/http/context.ts";
import { listen, type RunningServer } from "../../regional/server.ts";
import { buildPublicStatus } from "../../regional/status/status.ts";
import { statusPageHeaders } from "../../shared/status/page.ts";
import { renderPublicPage } from "../../shared/status/public-page.ts";
import { createTestApp, testAdminKey, type TestApp } from "../support/regional-app.ts";
import { launchChromium } from "./chromium.ts";

const artifacts = fileURLToPath(new URL("../artifacts/", import.meta.url));

let t: TestApp;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey: testAdminKey });
  // Regional as operators reach it, plus the public page as the edge will serve it (rendered from the same status).
  const app = new Hono<AppEnv>()
    .get("/status", async (c) => c.body(renderPublicPage(await buildPublicStatus(t.deps)), 200, statusPageHeaders))
    .all("*", (c) => t.app.fetch(c.req.raw));
  server = await listen(app, "127.0.0.1", 0);
  browser = await launchChromium();
  await mkdir(artifacts, { recursive: true });

  // An operator takes the mock provider out of service.
  const forced = await fetch(`${server.url}/admin/circuit-breakers/mock`, {
    method: "POST",
    headers: { authorization: `Bearer ${testAdminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ state: "open" }),
  });
  expect(forced.status).toBe(200);
  await t.deps.incidents?.flush();
});
afterAll(async () => {
  await browser?.close();
  await server?.close(0);
  await t?.close();
});

describe("status pages in a real browser", () => {
  it("the public page shows a provider forced down as Down, since when, and the incident", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const response = await page.goto(`${server.url}/status`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");

    const provider = page
      .locator("section", { has: page.getByRole("heading", { name: "Providers" }) })
      .getByRole("row", { name: /^mock\b/ });
    expect(await provider.innerText()).toMatch(/mock\s+Down\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+taken out of service/);
    expect(await page.locator(".banner").innerText()).toBe("Some systems down");
    expect(await page.locator("ol.timeline").innerText()).toContain("stopped sending calls to mock forced open");
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${artifacts}status-public.png`, fullPage: true });
    await page.close();
  });

  it("the operator page refuses without the admin key", async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${server.url}/admin/status`);
    expect(response?.status()).toBe(401);
    expect(await page.locator("body").innerText()).toContain("An admin key is required");
    await page.close();
  });

  it("the operator page shows the forced breaker, the database and the audit chain with the key", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${testAdminKey}` },
      viewport: { width: 1024, height: 900 },
    });
    const page = await context.newPage();
    const response = await page.goto(`${server.url}/admin/status`);
    expect(response?.status()).toBe(200);
    const breaker = page
      .locator("section", { has: page.getByRole("heading", { name: "Circuit breakers" }) })
      .getByRole("row", { name: /^mock\b/ });
    expect(await breaker.innerText()).toMatch(/mock\s+Open\s+open/);
    expect(await page.getByRole("heading", { name: "Audit chain" }).isVisible()).toBe(true);
    expect(await page.locator("body").innerText()).toMatch(/Head: seq \d+ [0-9a-f]{64}/);
    await page.screenshot({ path: `${artifacts}status-operator.png`, fullPage: true });
    await context.close();
  });
});
