import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../edge/env.ts";
import { originBreakerPolicy as policy } from "../../edge/settings.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import { createKey, defaultApiKey, edgeFetchWith, fakeOrigin, metricSum } from "./harness.ts";

/** The fake origin, under whatever names a test gives it. */
const live = env.REGIONAL_ORIGIN;
/** Long enough that only the client's leaving can end a held call within a test. */
const longTimeout = "60000";

afterEach(() => {
  vi.useRealTimers();
});

/** Origin names of their own for each test, so no breaker state carries over. */
function names<const Roles extends string[]>(...roles: Roles): { [I in keyof Roles]: string } {
  const id = crypto.randomUUID().slice(0, 8);
  return roles.map((role) => `${role}-${id}`) as { [I in keyof Roles]: string };
}

const breakerOf = (name: string) => env.ORIGIN_BREAKER.getByName(name);

/** `work`, or a failure naming `what` once `ms` pass (real time: the bound is the behaviour under test). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  return await withTimeout(work, ms, () => new Error(`${what} did not happen within ${ms} ms`));
}

async function failovers(origin: string): Promise<number> {
  return await metricSum(`breakwater_edge_origin_failovers_total{origin="${origin}",`);
}

/** A request the fake origin holds before its headers, sent with a signal the test aborts once it arrived. */
async function abandoned(bindings: Partial<Env>, id: string, init: RequestInit = {}, key?: string) {
  const client = new AbortController();
  const pending = edgeFetchWith({ ORIGIN_TIMEOUT_MS: longTimeout, ...bindings }, `/v1/hang/${id}`, { ...init, signal: client.signal }, key);
  await fakeOrigin.arrived(id);
  client.abort();
  await within(1_000, "the origin seeing its request closed", fakeOrigin.closed(id));
  const res = await pending;
  await res.body?.cancel();
  await res.settled();
  return res;
}

describe("a client that disconnects before the answer", () => {
  it("aborts the origin call within a second, counts no failure and tries no other origin", async () => {
    const [a, b] = names("a", "b");

    await abandoned({ REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}` }, crypto.randomUUID(), {
      method: "POST",
      body: "{}",
      headers: { "x-test-calls": a },
    });

    expect(await fakeOrigin.calls(a)).toBe(1);
    expect(await breakerOf(a).view(policy)).toMatchObject({ status: "closed", failures: 0 });
    expect(await failovers(a)).toBe(0);
  });

  it("aborts it through the runtime too: request.signal fires on the disconnect (enable_request_signal)", async () => {
    const id = crypto.randomUUID();
    const client = new AbortController();
    const pending = exports.default.fetch(`http://edge.test/v1/hang/${id}`, {
      headers: { authorization: `Bearer ${defaultApiKey}` },
      signal: client.signal,
    });
    pending.catch(() => {});
    await fakeOrigin.arrived(id);

    client.abort();

    await within(1_000, "the origin seeing its request closed", fakeOrigin.closed(id));
    await expect(pending).rejects.toThrow();
  });

  it("gives a half-open origin's probe slot back each time, so the call after three such probes is admitted", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const [a, b] = names("a", "b");
    const origins = `${a}=${live} ${b}=${live}`;
    await breakerOf(a).record(policy, { failures: policy.failureThreshold });
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    for (let probe = 0; probe < 3; probe += 1) {
      await abandoned({ REGIONAL_ORIGINS: origins }, crypto.randomUUID(), { headers: { "x-test-calls": `${a}-probes` } });
      expect((await breakerOf(a).view(policy)).probesInFlight).toBe(0);
      // Past the time this isolate leaves a half-open origin alone after asking.
      vi.setSystemTime(Date.now() + 300);
    }
    expect(await fakeOrigin.calls(`${a}-probes`)).toBe(3);

    const next = await edgeFetchWith({ REGIONAL_ORIGINS: origins }, "/v1/echo");
    await next.text();
    await next.settled();

    expect(next.headers.get("x-breakwater-origin")).toBe(a);
    expect(await breakerOf(a).view(policy)).toMatchObject({ status: "half_open", probesInFlight: 0 });
  });

  it("gives the whole token reservation back, through the runtime", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const { key, record } = await createKey({ limits: { tpm: 10_000 } });
    const id = crypto.randomUUID();
    const client = new AbortController();
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 1_000 });
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", "x-test-hold-headers": id };
    const pending = exports.default.fetch("http://edge.test/v1/chat/completions", { method: "POST", headers, body, signal: client.signal });
    pending.catch(() => {});
    await fakeOrigin.arrived(id);
    expect(await tokensLeft(record)).toBeLessThan(10_000 - 1_000);

    client.abort();

    await within(1_000, "the origin seeing its request closed", fakeOrigin.closed(id));
    // Settled in the background of a request whose client is gone: nothing to wait on but the count.
    await within(
      1_000,
      "the reservation given back",
      until(async () => (await tokensLeft(record)) === 10_000),
    );
  });
});

describe("a client that disconnects mid-stream", () => {
  it("aborts the origin's stream within a second through the runtime", async () => {
    const id = crypto.randomUUID();
    const res = await exports.default.fetch("http://edge.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${defaultApiKey}`, "content-type": "application/json", "x-test-hold": id },
      body: JSON.stringify({ model: "m", messages: [], stream: true }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("twelve chars")) text += (await reader.read()).value ?? "";

    await reader.cancel();

    await within(1_000, "the origin seeing its stream closed", fakeOrigin.closed(id));
  });
});

/** Resolves once `done()` says so, asking every 20 ms. */
async function until(done: () => Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** What the key's tokens bucket holds now, asking its limiter directly. */
async function tokensLeft(record: KeyRecord): Promise<number> {
  const result = await env.RATE_LIMITER.getByName(`key:${record.key_id}`).peek([
    { bucket: "tokens", limit: record.limits.tpm, periodMs: 60_000, cost: 0 },
  ]);
  return result.levels[0]!.remaining;
}
