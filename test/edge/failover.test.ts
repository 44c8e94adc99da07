import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { originBreakerPolicy as policy } from "../../edge/settings.ts";
import type { BreakerPolicy } from "../../shared/circuit-breaker.ts";
import type { Env } from "../../edge/env.ts";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import { edgeFetch, edgeFetchWith, fakeOrigin, metricSum, opsHeaders } from "./harness.ts";

/** The fake origin, under whatever names a test gives it. */
const live = env.REGIONAL_ORIGIN;
/** A port nothing listens on: every connection is refused. */
const dead = "http://127.0.0.1:1";

/** Origin names of their own for each test, so no breaker state carries over. */
function names<const Roles extends string[]>(...roles: Roles): { [I in keyof Roles]: string } {
  const id = crypto.randomUUID().slice(0, 8);
  return roles.map((role) => `${role}-${id}`) as { [I in keyof Roles]: string };
}

const breakerOf = (name: string) => env.ORIGIN_BREAKER.getByName(name);

/** A POST through the edge, read to its end (usage accounting waits for that) with its background work done. */
async function post(origins: string, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await edgeFetchWith({ REGIONAL_ORIGINS: origins }, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  await res.settled();
  return { status: res.status, headers: res.headers, json: <T = ErrorBody>() => JSON.parse(text) as T };
}

async function failovers(origin: string, reason: string): Promise<number> {
  return await metricSum(`breakwater_edge_origin_failovers_total{origin="${origin}",reason="${reason}"}`);
}

beforeAll(async () => {
  // The default key's record is looked up once through the live origin and cached, so the
  // tests below with dead origins exercise forwarding, not the key lookup.
  const res = await edgeFetch("/v1/echo");
  await res.body?.cancel();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("failover between regional origins", () => {
  it("sends the request to the next origin when the first refuses the connection, body and signature intact", async () => {
    const [a, b] = names("a", "b");
    const body = JSON.stringify({ hello: "again" });

    const res = await post(`${a}=${dead} ${b}=${live}`, "/v1/echo", body);

    expect(res.status).toBe(200);
    expect(res.headers.get("x-breakwater-origin")).toBe(b);
    const echoed = res.json<{ method: string; body: string; signed: boolean }>();
    expect(echoed).toMatchObject({ method: "POST", body, signed: true });
    expect((await breakerOf(a).view(policy)).failures).toBe(1);
  });

  it("trips the unreachable origin's breaker and then skips it without trying", async () => {
    const [a, b] = names("a", "b");
    for (let i = 0; i < policy.failureThreshold; i += 1) {
      expect((await post(`${a}=${dead} ${b}=${live}`, "/v1/echo", "{}")).headers.get("x-breakwater-origin")).toBe(b);
    }
    expect((await breakerOf(a).view(policy)).status).toBe("open");
    expect(await failovers(a, "connect")).toBe(policy.failureThreshold);

    const res = await post(`${a}=${dead} ${b}=${live}`, "/v1/echo", "{}");

    expect(res.headers.get("x-breakwater-origin")).toBe(b);
    expect(await failovers(a, "connect")).toBe(policy.failureThreshold);
    expect(await failovers(a, "open")).toBe(1);
  });

  it("opens after ORIGIN_BREAKER_FAILURES failures when the vars set fewer than the default", async () => {
    const [a, b] = names("a", "b");
    const vars = { REGIONAL_ORIGINS: `${a}=${dead} ${b}=${live}`, ORIGIN_BREAKER_FAILURES: "1", ORIGIN_BREAKER_OPEN_S: "30" };
    const first = await edgeFetchWith(vars, "/v1/echo", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await first.text();
    await first.settled();

    const view = await breakerOf(a).view({ ...policy, failureThreshold: 1, coolDownMs: 30_000 });
    expect(view.status).toBe("open");
    expect(view.retryAfterMs).toBeGreaterThan(policy.coolDownMs);
  });

  it("skips a live origin whose breaker is open", async () => {
    const [a, b] = names("a", "b");
    await breakerOf(a).force(policy, "open");

    const res = await post(`${a}=${live} ${b}=${live}`, "/v1/echo", "{}");

    expect(res.status).toBe(200);
    expect(res.headers.get("x-breakwater-origin")).toBe(b);
  });

  it("goes back to the first origin once its probes succeed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const [a, b] = names("a", "b");
    const origins = `${a}=${live} ${b}=${live}`;
    await breakerOf(a).record(policy, { failures: policy.failureThreshold });
    expect((await post(origins, "/v1/echo", "{}")).headers.get("x-breakwater-origin")).toBe(b);

    vi.setSystemTime(Date.now() + policy.coolDownMs);
    const via = async () => (await post(origins, "/v1/echo", "{}")).headers.get("x-breakwater-origin");
    const served = [await via()]; // the first probe
    // While the breaker is half-open, this isolate leaves the origin alone between probes.
    served.push(await via());
    vi.setSystemTime(Date.now() + 1_000);
    served.push(await via()); // the second probe closes it
    served.push(await via());

    expect(policy.halfOpenSuccesses).toBe(2);
    expect(served).toEqual([a, b, a, a]);
    expect((await breakerOf(a).view(policy)).status).toBe("closed");
  });

  it("asks no Durable Object on the happy path, only to refresh its view of a closed breaker once a second", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const [a, b] = names("a", "b");
    let breakerCalls = 0;
    const counting: Pick<Env["ORIGIN_BREAKER"], "getByName"> = {
      getByName: (name) => {
        breakerCalls += 1;
        return env.ORIGIN_BREAKER.getByName(name);
      },
    };
    const send = async () => {
      const res = await edgeFetchWith(
        { REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}`, ORIGIN_BREAKER: counting as Env["ORIGIN_BREAKER"] },
        "/v1/echo",
      );
      await res.text();
      await res.settled();
      return res.headers.get("x-breakwater-origin");
    };

    expect(await send()).toBe(a);
    expect(breakerCalls).toBe(1); // the isolate's first look at the breaker
    for (let i = 0; i < 10; i += 1) expect(await send()).toBe(a);
    expect(breakerCalls).toBe(1);

    vi.setSystemTime(Date.now() + 1_500);
    await send();
    await send();
    expect(breakerCalls).toBe(2); // one refresh in the background, not one per request
  });

  it("prefers the origins listed for the request's continent", async () => {
    const [a, b] = names("a", "b");
    // Requests in tests carry no continent: list order decides.
    const res = await post(`${a}:EU=${live} ${b}:NA=${live}`, "/v1/echo", "{}");
    expect(res.headers.get("x-breakwater-origin")).toBe(a);
  });
});

describe("what does not go on to the next origin", () => {
  it("answers 504 for a POST whose origin sent no headers in time, without trying the next one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const [a, b] = names("a", "b");
    const id = crypto.randomUUID();
    const pending = edgeFetchWith({ REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}`, ORIGIN_TIMEOUT_MS: "1000" }, `/v1/hang/${id}`, {
      method: "POST",
      body: "{}",
    });
    await fakeOrigin.arrived(id);

    // One timeout is all it takes: a second origin would hold the call for another.
    vi.advanceTimersByTime(1_000);
    const res = await pending;

    expect(res.status).toBe(504);
    expect((await res.json<ErrorBody>()).error.code).toBe("upstream_timeout");
    // The scrape waits on real timers for a metrics flush under way.
    vi.useRealTimers();
    expect(await failovers(a, "timeout")).toBe(0);
    await fakeOrigin.closed(id);
  });
});

describe("what a dropped connection does", () => {
  it("answers a POST whose origin dropped the connection with a JSON 502, without trying the next origin", async () => {
    const [a, b] = names("a", "b");

    const res = await post(`${a}=${live} ${b}=${live}`, "/v1/reset", "{}", { "x-test-calls": a });

    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.json().error).toMatchObject({ type: "upstream_error", code: "origin_unreachable" });
    expect(await fakeOrigin.calls(a)).toBe(1);
    expect(await failovers(a, "broken")).toBe(0);
    // The origin took the call and failed it: that counts against its breaker.
    expect((await breakerOf(a).view(policy)).failures).toBe(1);
  });

  it("sends a GET whose origin dropped the connection on to the next origin", async () => {
    const [a, b] = names("a", "b");

    const res = await edgeFetchWith({ REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}` }, "/v1/reset", { headers: { "x-test-calls": a } });
    await res.text();
    await res.settled();

    expect(res.status).toBe(502);
    expect(await fakeOrigin.calls(a)).toBe(2);
    expect(await failovers(a, "broken")).toBe(1);
  });
});

describe("a half-open origin's probe slot", () => {
  it("is held by a probe whose report is lost only until its lease runs out: the header timeout, plus a second", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    const [a, b] = names("a", "b");
    const timeoutMs = 5_000;
    // Every report to a's breaker is lost on the way; asking it still works.
    const lossy = {
      getByName: (name: string) => {
        const stub = env.ORIGIN_BREAKER.getByName(name);
        if (name !== a) return stub;
        return {
          view: (breakerPolicy: BreakerPolicy) => stub.view(breakerPolicy),
          acquire: (breakerPolicy: BreakerPolicy, leaseMs: number) => stub.acquire(breakerPolicy, leaseMs),
          record: () => Promise.reject(new Error("report lost")),
        };
      },
    };
    const via = async () => {
      const res = await edgeFetchWith(
        {
          REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}`,
          ORIGIN_TIMEOUT_MS: String(timeoutMs),
          ORIGIN_BREAKER: lossy as unknown as Env["ORIGIN_BREAKER"],
        },
        "/v1/echo",
      );
      await res.text();
      await res.settled();
      return res.headers.get("x-breakwater-origin");
    };
    await breakerOf(a).record(policy, { failures: policy.failureThreshold });
    vi.setSystemTime(Date.now() + policy.coolDownMs);

    const served = [await via()]; // the probe, whose success never reaches the breaker
    vi.setSystemTime(Date.now() + timeoutMs);
    served.push(await via()); // its lease still holds the only slot
    vi.setSystemTime(Date.now() + 1_000);
    served.push(await via()); // expired: the next probe goes

    expect(policy.halfOpenMaxProbes).toBe(1);
    expect(served).toEqual([a, b, a]);
  });
});

describe("what trips an origin's breaker", () => {
  it("does not count a 5xx the regional tier returns because the providers failed", async () => {
    const [a, b] = names("a", "b");
    for (let i = 0; i < policy.failureThreshold + 1; i += 1) {
      const res = await post(`${a}=${live} ${b}=${live}`, "/v1/chat", "{}", { "x-test-status": "503" });
      expect(res.status).toBe(503);
      expect(res.headers.get("x-breakwater-origin")).toBe(a);
      expect(res.json().error.code).toBe("upstream_error");
    }
    const overloaded = await post(`${a}=${live} ${b}=${live}`, "/v1/overloaded", "{}");
    expect(overloaded.headers.get("retry-after")).toBe("7");

    expect(await breakerOf(a).view(policy)).toMatchObject({ status: "closed", failures: 0 });
  });

  it("counts the origin's own 5xx, passing the answer on, and opens after enough of them", async () => {
    const [a, b] = names("a", "b");
    for (let i = 0; i < policy.failureThreshold; i += 1) {
      const res = await post(`${a}=${live} ${b}=${live}`, "/v1/origin-error", "{}");
      expect(res.status).toBe(500);
      expect(res.headers.get("x-breakwater-origin")).toBe(a);
      expect(res.json().error.code).toBe("internal_error");
    }

    expect((await breakerOf(a).view(policy)).status).toBe("open");
    expect((await post(`${a}=${live} ${b}=${live}`, "/v1/origin-error", "{}")).headers.get("x-breakwater-origin")).toBe(b);
  });
});

describe("when no origin can take the request", () => {
  it("answers 503 unavailable with Retry-After when every origin refuses connections", async () => {
    const [a, b] = names("a", "b");

    const res = await post(`${a}=${dead} ${b}=http://127.0.0.1:2`, "/v1/echo", "{}", { "x-request-id": "client-req:all-down" });

    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.json()).toEqual({
      error: {
        message: "No regional origin can be reached right now.",
        type: "service_unavailable",
        code: "unavailable",
        param: null,
        request_id: "client-req:all-down",
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
  });

  it("answers 503 with the time until the first breaker lets a probe through when every breaker is open", async () => {
    const [a, b] = names("a", "b");
    await breakerOf(a).force(policy, "open");
    await breakerOf(b).record(policy, { failures: policy.failureThreshold });

    const res = await post(`${a}=${live} ${b}=${live}`, "/v1/echo", "{}");

    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe(String(policy.coolDownMs / 1000));
    expect(res.json().error.code).toBe("unavailable");
  });
});

describe("the edge health endpoints", () => {
  it("list each origin by name with its breaker and the cache counts at /health/detailed, with the metrics key", async () => {
    const [a, b] = names("a", "b");
    await breakerOf(b).force(policy, "open");

    const res = await edgeFetchWith(
      { REGIONAL_ORIGINS: `${a}:EU=${live} ${b}=${live}` },
      "/health/detailed",
      { headers: opsHeaders },
      null,
    );

    expect(res.status).toBe(200);
    const body = await res.json<{ status: string; origins: unknown[]; cache: unknown }>();
    expect(body.status).toBe("degraded");
    expect(body.origins).toEqual([
      expect.objectContaining({ name: a, continents: ["EU"], breaker: "closed", failures_in_window: 0 }),
      expect.objectContaining({
        name: b,
        continents: [],
        breaker: "open",
        forced: "open",
        last_transition: expect.objectContaining({ to: "open", reason: "forced open" }),
      }),
    ]);
    expect(body.cache).toEqual(expect.objectContaining({ misses: expect.any(Number) }));
    expect(JSON.stringify(body)).not.toContain(live);
    expect(JSON.stringify(body)).not.toContain(new URL(live ?? "").host);
  });

  it("answer 503 when every origin's breaker is open", async () => {
    const [a] = names("a");
    await breakerOf(a).force(policy, "open");

    const detailed = await edgeFetchWith({ REGIONAL_ORIGINS: `${a}=${live}` }, "/health/detailed", { headers: opsHeaders }, null);
    expect(detailed.status).toBe(503);
    expect((await detailed.json<{ status: string }>()).status).toBe("unavailable");
    const short = await edgeFetchWith({ REGIONAL_ORIGINS: `${a}=${live}` }, "/health", undefined, null);
    expect(short.status).toBe(503);
    expect(await short.json()).toEqual({ status: "unavailable" });
  });

  it("say only a status word in public, and ask the breakers at most once a second for it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const [a, b] = names("a", "b");
    const bindings = { REGIONAL_ORIGINS: `${a}=${live} ${b}=${live}` };
    const get = async (path: string) => {
      const res = await edgeFetchWith(bindings, path, undefined, null);
      return { status: res.status, body: await res.json() };
    };

    expect(await get("/health")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get("/health/ready")).toEqual({ status: 200, body: { status: "ready" } });
    // A breaker opening now is not seen by public health calls within the second: no Durable Object was asked.
    await breakerOf(b).force(policy, "open");
    expect(await get("/health")).toEqual({ status: 200, body: { status: "ok" } });
    vi.advanceTimersByTime(1_001);
    expect(await get("/health")).toEqual({ status: 200, body: { status: "degraded" } });
    expect(await get("/health/ready")).toEqual({ status: 200, body: { status: "degraded" } });
  });

  it("keep detailed health and metrics behind METRICS_API_KEY: 401 without it, 403 when none is set", async () => {
    for (const path of ["/health/detailed", "/metrics"]) {
      expect((await edgeFetch(path, undefined, null)).status).toBe(401);
      expect((await edgeFetch(path, { headers: { authorization: "Bearer not-the-metrics-key-0123456789abcdef" } }, null)).status).toBe(401);
      expect((await edgeFetchWith({ METRICS_API_KEY: undefined }, path, { headers: opsHeaders }, null)).status).toBe(403);
      expect((await edgeFetch(path, { headers: opsHeaders }, null)).status).toBeLessThan(300);
    }
  });
});
