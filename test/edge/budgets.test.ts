import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Budget } from "../../shared/contract/budgets.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { budgetWindow } from "../../edge/limits/budget-window.ts";
import { microsFromDecimal } from "../../edge/limits/money.ts";
import { createKey, edgeFetchWith, errorBody, fakeOrigin } from "./harness.ts";

// Budget windows follow the clock: frozen time makes every window and Retry-After exact. The
// Worker and its Durable Objects run in this isolate, so they see the same clock.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * Times are set in the coming year: the runtime runs Durable Object alarms by the real clock,
 * so windows of a year gone by would be cleaned up under the test's feet.
 */
const year = new Date().getUTCFullYear() + 1;
const at = (time: string): Date => new Date(`${year}-${time}`);
const isoAt = (time: string): string => at(time).toISOString();

function budget(fields: Partial<Budget> & Pick<Budget, "unit" | "limit">): Budget {
  return { id: crypto.randomUUID(), scope: "key", period: "day", softThreshold: null, timeZone: "UTC", ...fields };
}

/** What the budget's window holds now (or at `at`), asking its limiter directly: micro-dollars or tokens. */
async function usedIn(record: KeyRecord, spend: Budget, at = Date.now()): Promise<number> {
  const name = spend.scope === "key" ? `key:${record.key_id}` : `tenant:${record.tenant_id}`;
  const window = budgetWindow(spend.period, spend.timeZone, at);
  const result = await env.RATE_LIMITER.getByName(name).peek([], [{ budget: spend.id, ...window, limit: 1, softLimit: null, cost: 0 }]);
  return result.budgets[0]!.used;
}

/**
 * A chat request for model `m`: "hi" is 5 prompt tokens, `max_tokens: 10` makes 15 reserved.
 * At the fake origin's prices (1,000 USD per million input tokens, 2,000 per million output)
 * that is 5 × 1,000 + 10 × 2,000 = 25,000 micro-dollars.
 */
function chat(body: Record<string, unknown> = {}, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 10, ...body }),
  };
}
const reservedTokens = 15;
const reservedMicros = 25_000;

/** Sends a chat request and waits until it has been settled. */
async function settledChat(key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> {
  const res = await edgeFetchWith({}, "/v1/chat/completions", chat(body, headers), key);
  const text = await res.text();
  await res.settled();
  return new Response(text, res);
}

/** Where the clock was last moved to expire the isolate's price sheet (each test starts it from the real time again). */
let sheetExpiredAt = 0;

/** Moves the clock a minute past the last time this did (or now): the price sheet any earlier test read has expired. */
function expireThePriceSheet(): void {
  sheetExpiredAt = Math.max(Date.now(), sheetExpiredAt) + 61_000;
  vi.setSystemTime(sheetExpiredAt);
}

describe("spend budgets at the edge", () => {
  it("reads the price sheet again once a minute per isolate, however many requests find it expired", async () => {
    const { key } = await createKey({ budgets: [budget({ unit: "usd", limit: 1_000 })] });
    expect((await settledChat(key)).status).toBe(200);
    const before = await fakeOrigin.priceReads();

    expireThePriceSheet();
    const responses = await Promise.all(Array.from({ length: 20 }, () => edgeFetchWith({}, "/v1/chat/completions", chat(), key)));
    for (const res of responses) {
      expect(res.status).toBe(200);
      await res.text();
      await res.settled();
    }
    // One of them read it; the others went on with the sheet of the minute before.
    expect(await fakeOrigin.priceReads()).toBe(before + 1);
  });

  // 200 requests and their settling take longer than the default 5 s on a busy machine.
  it("lets 200 concurrent requests spend at most the budget plus one reservation", async () => {
    // A budget for 100 reservations; each call really costs a little less, so settled calls make room for more.
    const spend = budget({ unit: "usd", limit: (100 * reservedMicros) / 1_000_000 });
    const { key, record } = await createKey({ budgets: [spend] });
    const calls = crypto.randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 200 }, () =>
        edgeFetchWith({}, "/v1/chat/completions", chat({}, { "x-test-calls": calls, "x-test-cost": "0.02" }), key),
      ),
    );
    const bodies = await Promise.all(responses.map(async (res) => ({ status: res.status, body: await res.text() })));
    await Promise.all(responses.map((res) => res.settled()));

    const served = await fakeOrigin.calls(calls);
    const admitted = bodies.filter((answer) => answer.status === 200);
    expect(admitted).toHaveLength(served);
    expect(served).toBeGreaterThanOrEqual(100);
    const refused = bodies.filter((answer) => answer.status !== 200);
    expect(refused.length).toBe(200 - served);
    for (const answer of refused) expect(answer).toMatchObject({ status: 429, body: expect.stringContaining('"budget_exceeded"') });
    const used = await usedIn(record, spend);
    expect(used).toBe(served * 20_000);
    expect(used).toBeLessThanOrEqual(100 * reservedMicros + reservedMicros);
  }, 30_000);

  it("answers 429 budget_exceeded with Retry-After and the reset once the window is spent", async () => {
    vi.setSystemTime(at("05-01T18:00:00Z"));
    const spend = budget({ unit: "tokens", limit: 20 });
    const { key } = await createKey({ budgets: [spend] });
    expect((await settledChat(key, {}, { "x-test-usage": "30" })).status).toBe(200);

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({}, { "x-request-id": "client-req:budget" }), key);

    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe(String(6 * 3600));
    expect(res.headers.get("x-breakwater-budget-reset")).toBe(isoAt("05-02T00:00:00Z"));
    expect(await errorBody(res)).toEqual({
      error: {
        message: `The key's daily budget is spent; it resets at ${isoAt("05-02T00:00:00Z")}.`,
        type: "rate_limit_error",
        code: "budget_exceeded",
        param: null,
        request_id: "client-req:budget",
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
  });

  it("holds a tenant's budget across all its keys, in the tenant's limiter", async () => {
    const tenantId = crypto.randomUUID();
    const spend = budget({ scope: "tenant", unit: "tokens", limit: 20 });
    const first = await createKey({ tenantId, budgets: [spend] });
    const second = await createKey({ tenantId, budgets: [spend] });

    expect((await settledChat(first.key, {}, { "x-test-usage": "25" })).status).toBe(200);
    const refused = await settledChat(second.key);

    expect(refused.status).toBe(429);
    expect((await errorBody(refused)).error.message).toContain("The tenant's daily budget is spent");
    expect(await usedIn(first.record, spend)).toBe(25);
  });

  it("replaces the reservation with the cost regional reports, or with the usage at the sheet's prices", async () => {
    const spend = budget({ unit: "usd", limit: 10 });
    const { key, record } = await createKey({ budgets: [spend] });

    await settledChat(key, {}, { "x-test-cost": "0.000123" });
    expect(await usedIn(record, spend)).toBe(123);

    // No cost: 5 prompt and 5 completion tokens at 1,000 and 2,000 USD per million.
    await settledChat(key, {}, { "x-test-usage": "10" });
    expect(await usedIn(record, spend)).toBe(123 + 15_000);

    // A stream says its cost in a closing comment, which the client never sees.
    const streamed = await settledChat(key, { stream: true }, { "x-test-cost": "0.5" });
    expect(await streamed.text()).not.toContain("x-breakwater-cost-usd");
    expect(await usedIn(record, spend)).toBe(123 + 15_000 + 500_000);
  });

  it("keeps pricing by the last sheet it read while the sheet cannot be read again", async () => {
    const spend = budget({ unit: "usd", limit: 10 });
    const { key, record } = await createKey({ budgets: [spend] });
    expect((await settledChat(key)).status).toBe(200);

    await fakeOrigin.failPriceReads(true);
    try {
      expireThePriceSheet();
      const before = await usedIn(record, spend);
      const reads = await fakeOrigin.priceReads();
      const id = crypto.randomUUID();
      const pending = edgeFetchWith({}, "/v1/chat/completions", chat({}, { "x-test-hold-headers": id }), key);
      await fakeOrigin.arrived(id);
      // It tried, and failed; the reservation is still the priced one, not the default 10,000.
      expect(await fakeOrigin.priceReads()).toBe(reads + 1);
      expect((await usedIn(record, spend)) - before).toBe(reservedMicros);
      await fakeOrigin.release(id);
      const res = await pending;
      await res.text();
      await res.settled();
    } finally {
      await fakeOrigin.failPriceReads(false);
    }
  });

  it("reserves the default amount for a model the price sheet does not know", async () => {
    const spend = budget({ unit: "usd", limit: 10 });
    const { key, record } = await createKey({ budgets: [spend] });
    const id = crypto.randomUUID();

    const pending = edgeFetchWith(
      {},
      "/v1/chat/completions",
      chat({ model: "unpriced" }, { "x-test-hold-headers": id, "x-test-cost": "0.001" }),
      key,
    );
    await fakeOrigin.arrived(id);
    expect(await usedIn(record, spend)).toBe(10_000);

    await fakeOrigin.release(id);
    const res = await pending;
    await res.text();
    await res.settled();
    expect(await usedIn(record, spend)).toBe(1_000);
  });

  it("settles a stream its client cut off, so the next request sees what it used", async () => {
    const spend = budget({ unit: "tokens", limit: 50, softThreshold: 0.4 });
    const { key, record } = await createKey({ budgets: [spend] });
    const id = crypto.randomUUID();

    const res = await edgeFetchWith({}, "/v1/chat/completions", chat({ stream: true }, { "x-test-usage": "70", "x-test-hold": id }), key);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    await reader.cancel();
    await res.settled();
    await fakeOrigin.closed(id);

    // No usage chunk came: the prompt as estimated, and "twelve chars" at 4 characters a token.
    expect(await usedIn(record, spend)).toBe(5 + 3);
    const next = await edgeFetchWith({}, "/v1/chat/completions", chat(), key);
    // 8 settled plus this request's 15 reserved, of 50.
    expect(next.headers.get("x-breakwater-budget-warning")).toMatch(/^key-day; used=0\.46; resets=/);
    await next.text();
    await next.settled();
  });

  it("settles a request that spans midnight into the day it was reserved in", async () => {
    vi.setSystemTime(at("05-01T23:59:30Z"));
    const spend = budget({ unit: "tokens", limit: 20 });
    const { key, record } = await createKey({ budgets: [spend] });
    const id = crypto.randomUUID();

    const stream = await edgeFetchWith(
      {},
      "/v1/chat/completions",
      chat({ stream: true }, { "x-test-usage": "70", "x-test-hold": id }),
      key,
    );
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";
    expect((await settledChat(key, {}, { "x-test-usage": "15" })).status).toBe(200);
    vi.setSystemTime(at("05-01T23:59:45Z"));
    const refused = await settledChat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("15");

    // Past midnight: a fresh window, whatever the stream still holds in yesterday's.
    vi.setSystemTime(at("05-02T00:00:10Z"));
    expect((await settledChat(key, {}, { "x-test-usage": "12" })).status).toBe(200);
    await fakeOrigin.release(id);
    while (!(await reader.read()).done);
    await stream.settled();

    expect(await usedIn(record, spend, at("05-01T12:00:00Z").getTime())).toBe(15 + 70);
    expect(await usedIn(record, spend)).toBe(12);
  });

  it("resets a month budget in a time zone at local midnight of the 1st", async () => {
    // 23:59 on 28 February in New York (UTC-5).
    vi.setSystemTime(at("03-01T04:59:00Z"));
    const spend = budget({ unit: "tokens", limit: 10, period: "month", timeZone: "America/New_York" });
    const { key } = await createKey({ budgets: [spend] });
    expect((await settledChat(key, {}, { "x-test-usage": "15" })).status).toBe(200);

    const refused = await settledChat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-breakwater-budget-reset")).toBe(isoAt("03-01T05:00:00Z"));
    expect(refused.headers.get("retry-after")).toBe("60");
    expect((await errorBody(refused)).error.message).toContain("monthly budget");

    vi.setSystemTime(at("03-01T05:00:01Z"));
    expect((await settledChat(key, {}, { "x-test-usage": "5" })).status).toBe(200);
  });

  it("warns on every answer past the soft threshold, and tells regional once per window, signed", async () => {
    vi.setSystemTime(at("05-01T10:00:00Z"));
    const spend = budget({ unit: "usd", limit: 0.1, softThreshold: 0.5 });
    const { key } = await createKey({ budgets: [spend] });
    // A client's own claim never reaches regional.
    const forged = JSON.stringify([{ budgetId: spend.id, scope: "key", period: "day", window: "x", used: 1, limit: 1 }]);
    const cost = { "x-test-cost": "0.025", "x-breakwater-budget-crossed": forged };

    const first = await settledChat(key, {}, cost);
    expect(first.headers.get("x-breakwater-budget-warning")).toBeNull();
    expect((await first.json<{ budget_crossed: unknown }>()).budget_crossed).toBeNull();

    const second = await settledChat(key, {}, cost);
    expect(second.headers.get("x-breakwater-budget-warning")).toBe(`key-day; used=0.50; resets=${isoAt("05-02T00:00:00Z")}`);
    const crossed = (await second.json<{ budget_crossed: { value: string; signed: boolean } }>()).budget_crossed;
    expect(crossed.signed).toBe(true);
    expect(JSON.parse(crossed.value)).toEqual([
      { budgetId: spend.id, scope: "key", period: "day", window: isoAt("05-01T00:00:00Z"), used: 0.05, limit: 0.1 },
    ]);

    const third = await settledChat(key, {}, cost);
    expect(third.headers.get("x-breakwater-budget-warning")).toBe(`key-day; used=0.75; resets=${isoAt("05-02T00:00:00Z")}`);
    expect((await third.json<{ budget_crossed: unknown }>()).budget_crossed).toBeNull();

    // The next day is a new window: below the threshold again, and crossing it is news again.
    vi.setSystemTime(at("05-02T10:00:00Z"));
    expect((await settledChat(key, {}, cost)).headers.get("x-breakwater-budget-warning")).toBeNull();
    const again = await settledChat(key, {}, cost);
    expect((await again.json<{ budget_crossed: { value: string } | null }>()).budget_crossed?.value).toContain(
      `"window":"${isoAt("05-02T00:00:00Z")}"`,
    );
  });

  it("charges nothing for an answer from the edge's cache", async () => {
    const spend = budget({ unit: "tokens", limit: 1_000 });
    const { key, record } = await createKey({ budgets: [spend] });
    const embed = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: "cache me" }),
    };

    const first = await edgeFetchWith({}, "/v1/embeddings", embed, key);
    await first.text();
    await first.settled();
    const second = await edgeFetchWith({}, "/v1/embeddings", embed, key);
    await second.text();
    await second.settled();

    expect(second.headers.get("x-cache")).toMatch(/^HIT/);
    // The origin's usage (4 tokens) for the first; nothing for the copy.
    expect(await usedIn(record, spend)).toBe(4);
  });
});

describe("budget windows", () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  const bounds = (period: Budget["period"], zone: string, at: string) => {
    const window = budgetWindow(period, zone, Date.parse(at));
    return [iso(window.start), iso(window.resetAt)];
  };

  it("are calendar days and months in the budget's time zone", () => {
    expect(bounds("day", "UTC", "2026-05-01T23:59:59.999Z")).toEqual(["2026-05-01T00:00:00.000Z", "2026-05-02T00:00:00.000Z"]);
    expect(bounds("month", "UTC", "2026-12-31T12:00:00Z")).toEqual(["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    expect(bounds("month", "Asia/Kathmandu", "2026-04-30T18:20:00Z")).toEqual(["2026-04-30T18:15:00.000Z", "2026-05-31T18:15:00.000Z"]);
  });

  it("follow daylight saving: a 23-hour day, and a day whose midnight the clock skips", () => {
    expect(bounds("day", "America/New_York", "2026-03-08T12:00:00Z")).toEqual(["2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z"]);
    // Havana moves from 00:00 straight to 01:00: the day starts at the jump.
    expect(bounds("day", "America/Havana", "2026-03-08T12:00:00Z")).toEqual(["2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z"]);
  });

  it("count a time zone the runtime does not know as UTC", () => {
    expect(bounds("day", "Mars/Olympus_Mons", "2026-05-01T12:00:00Z")).toEqual(["2026-05-01T00:00:00.000Z", "2026-05-02T00:00:00.000Z"]);
  });
});

describe("money at the edge", () => {
  it("reads regional's decimal costs into whole micro-dollars exactly, rounding half up", () => {
    expect(microsFromDecimal("0.000123")).toBe(123);
    expect(microsFromDecimal("12.5")).toBe(12_500_000);
    expect(microsFromDecimal("0.1234565")).toBe(123_457);
    expect(microsFromDecimal("0.0000004")).toBe(0);
  });

  it("refuses what is not a plain decimal", () => {
    for (const text of ["", "-0.1", "1e-3", "0x10", "1.", "NaN"]) expect(microsFromDecimal(text)).toBeNull();
  });
});
