import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { PublicStatus } from "../../shared/status/types.ts";
import { edgeFetch, edgeFetchWith, fakeOrigin, opsHeaders } from "./harness.ts";

/** The fake origin, under whatever names a test gives it. */
const live = env.REGIONAL_ORIGIN;
/** A port nothing listens on: every connection is refused. */
const dead = "http://127.0.0.1:1";

/** An origin name of its own for each test: no breaker state or cached status carries over. */
const fresh = (role: string) => `${role}-${crypto.randomUUID().slice(0, 8)}`;

async function page(origins: string, path: string, headers: Record<string, string> = {}) {
  const res = await edgeFetchWith({ REGIONAL_ORIGINS: origins }, path, { headers }, null);
  const text = await res.text();
  await res.settled();
  return { status: res.status, headers: res.headers, text };
}

/** A component's row on a rendered page: its name, then its status badge. */
const row = (name: string, word: string) => new RegExp(`<strong>${name}</strong></td><td><span class="badge [a-z]+">${word}</span>`);

beforeAll(async () => {
  // The default key is looked up once through the live origin, so the breaker test below is about forwarding.
  const res = await edgeFetch("/v1/echo");
  await res.body?.cancel();
});

describe("the status page at the edge", () => {
  it("shows a provider regional reports down, and the edge's origins beside it", async () => {
    const a = fresh("a");

    const res = await page(`${a}=${live}`, "/status");

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.text).toMatch(row("mock", "Down"));
    expect(res.text).toMatch(row("openai", "Healthy"));
    expect(res.text).toMatch(row(a, "Healthy"));
    expect(res.text).toContain("Some systems down");
  });

  it("serves the same view as JSON at /status.json", async () => {
    const a = fresh("a");

    const res = await page(`${a}=${live}`, "/status.json");

    expect(res.status).toBe(200);
    const status = JSON.parse(res.text) as PublicStatus;
    expect(status).toMatchObject({ object: "status", status: "down", generated_at: expect.any(String) });
    expect(status.components).toContainEqual({
      kind: "provider",
      name: "mock",
      status: "down",
      since: expect.any(String),
      note: "circuit open",
    });
    expect(status.components).toContainEqual({ kind: "origin", name: a, status: "healthy", since: null, note: null });
    expect(status.incidents).toEqual([expect.objectContaining({ kind: "breaker_opened", subject: "mock", tier: "regional" })]);
  });

  it("asks regional once for a burst of page loads within a few seconds", async () => {
    const a = fresh("a");
    const before = (await fakeOrigin.incidents()).status_reads;

    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => page(`${a}=${live}`, i % 2 ? "/status" : "/status.json")));

    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect((await fakeOrigin.incidents()).status_reads - before).toBe(1);
  });

  it("still answers 200 when regional is down, every origin shown down with a note", async () => {
    const [a, b] = [fresh("a"), fresh("b")];

    const html = await page(`${a}=${dead} ${b}=${dead}`, "/status");
    const json = await page(`${a}=${dead} ${b}=${dead}`, "/status.json");

    expect(html.status).toBe(200);
    expect(html.text).toMatch(row(a, "Down"));
    expect(html.text).toMatch(row(b, "Down"));
    expect(html.text).toContain("not answering the edge");
    expect(json.status).toBe(200);
    const status = JSON.parse(json.text) as PublicStatus;
    expect(status.status).toBe("down");
    expect(status.components.map((c) => [c.name, c.status])).toEqual([
      [a, "down"],
      [b, "down"],
    ]);
  });

  it("refuses the operator page without the metrics key", async () => {
    const a = fresh("a");

    const none = await page(`${a}=${live}`, "/status/operator");
    const wrong = await page(`${a}=${live}`, "/status/operator", { authorization: "Bearer not-the-metrics-key" });

    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(none.text).not.toContain("Circuit breakers");
  });

  it("shows the operator page with the key: regional's view plus the edge's cache levels and origin breakers", async () => {
    const a = fresh("a");

    const res = await page(`${a}=${live}`, "/status/operator", opsHeaders);

    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.text).toContain("Breakwater operator status");
    expect(res.text).toMatch(row("mock", "Down"));
    expect(res.text).toContain("<h2>Edge response cache by level</h2>");
    expect(res.text).toContain("redis (Upstash)");
    expect(res.text).toContain("<h2>Edge origin breakers</h2>");
    expect(res.text).toContain(`<td>${a}</td><td>closed</td>`);
  });

  it("posts an incident to regional when an origin breaker opens", async () => {
    const [a, b] = [fresh("a"), fresh("b")];
    const vars = { REGIONAL_ORIGINS: `${a}=${dead} ${b}=${live}`, ORIGIN_BREAKER_FAILURES: "1", ORIGIN_BREAKER_OPEN_S: "30" };

    const res = await edgeFetchWith(vars, "/v1/echo", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await res.text();
    await res.settled();

    expect(res.headers.get("x-breakwater-origin")).toBe(b);
    const posted = (await fakeOrigin.incidents()).incidents.filter((incident) => incident.subject === a);
    expect(posted).toEqual([
      {
        at: expect.any(String),
        kind: "breaker_opened",
        subject: a,
        detail: { from: "closed", reason: expect.stringContaining("failure") },
      },
    ]);
  });
});
