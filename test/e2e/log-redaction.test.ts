import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogueRoutes } from "../support/fault-scenarios.ts";
import { chatRoute, chatTargets, startGatewayStack, type GatewayStack } from "../support/gateway-stack.ts";

/**
 * No credential reaches either tier's output: the real `wrangler dev` and regional processes,
 * their stdout and stderr captured, sent keys, passwords and `Bearer` tokens everywhere a log
 * line could pick them up — while the access lines are still there with their fields.
 */
const providerKey = "sk-proj-FaultUpstreamSecretKey0123456789";
const metricsKey = "e2e-redaction-metrics-key-0123456789abcdef";
const secrets = {
  unknownKey: "bw_unknownKeyNobodyIssued0123456789",
  malformedToken: "tokenWithoutPrefix-s3cr3tValue987",
  bodyPassword: "hunter2-body-password-secret",
  queryKey: "sk-proj-QueryStringSecret0123456789",
  queryPassword: "query-password-secret-4711",
  cookie: "session-cookie-secret-0815",
  wrongMetricsKey: "wrong-metrics-key-secret-0123456789abcdef",
  providerKey,
};

let stack: GatewayStack;
let regionalFrom = 0;
let edgeFrom = 0;

beforeAll(async () => {
  stack = await startGatewayStack({
    routes: catalogueRoutes,
    regionalEnv: () => ({ FAULT_UPSTREAM_KEY: providerKey, LOG_LEVEL: "debug" }),
    edge: { METRICS_API_KEY: metricsKey },
  });
  // What each process printed while starting (the dev key it was given, its bindings) is not a request's log.
  regionalFrom = stack.regional.output().length;
  edgeFrom = stack.edge?.output().length ?? 0;
}, 180_000);
afterAll(async () => await stack?.close());

const edgeUrl = () => stack.edge?.url ?? "";
const output = () => ({ regional: stack.regional.output().slice(regionalFrom), edge: (stack.edge?.output() ?? "").slice(edgeFrom) });

/** The JSON log lines in a process's output (wrangler may prefix the worker's lines). */
function logLines(text: string): Record<string, unknown>[] {
  return text.split("\n").flatMap((line) => {
    const start = line.indexOf("{");
    if (start < 0) return [];
    try {
      return [JSON.parse(line.slice(start)) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

async function send(path: string, init: RequestInit, requestId: string): Promise<number> {
  const headers = new Headers(init.headers);
  headers.set("x-request-id", requestId);
  const res = await fetch(`${edgeUrl()}${path}`, { ...init, headers });
  await res.text();
  return res.status;
}

const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: chatRoute, messages: [{ role: "user", content: "hello" }], password: secrets.bodyPassword, ...extra });

describe("secrets in requests, through both tiers", () => {
  it("appear in neither tier's output, while each request has its access line", async () => {
    const bearer = { authorization: `Bearer ${stack.devKey}`, "content-type": "application/json", cookie: `sid=${secrets.cookie}` };
    const query = `?api_key=${secrets.queryKey}&password=${secrets.queryPassword}`;

    expect(await send(`/v1/chat/completions${query}`, { method: "POST", headers: bearer, body: chatBody() }, "redact-ok")).toBe(200);
    expect(await send("/v1/chat/completions", { method: "POST", headers: bearer, body: chatBody({ stream: true }) }, "redact-stream")).toBe(
      200,
    );
    expect(
      await send(
        "/v1/chat/completions",
        { method: "POST", headers: { "x-api-key": secrets.unknownKey, "content-type": "application/json" }, body: chatBody() },
        "redact-unknown-key",
      ),
    ).toBe(401);
    expect(
      await send(
        "/v1/chat/completions",
        { method: "POST", headers: { authorization: `Bearer ${secrets.malformedToken}` }, body: chatBody() },
        "redact-malformed",
      ),
    ).toBe(401);
    expect(await send("/metrics", { headers: { authorization: `Bearer ${secrets.wrongMetricsKey}` } }, "redact-metrics")).toBe(401);

    // Every provider refuses the key, echoing it back as OpenAI does: regional logs the failure.
    for (const { provider, model } of chatTargets)
      await stack.upstream.setRules(provider, model, [
        { status: 500, message: `Upstream failure while using API key ${providerKey} (Bearer ${providerKey})` },
      ]);
    const failed = await send(`/v1/chat/completions${query}`, { method: "POST", headers: bearer, body: chatBody() }, "redact-upstream");
    expect(failed).toBeGreaterThanOrEqual(500);
    await stack.upstream.reset();

    const requestIds = ["redact-ok", "redact-stream", "redact-unknown-key", "redact-malformed", "redact-metrics", "redact-upstream"];
    // The lines are written when each answer ends; give the processes' pipes a moment.
    await expect
      .poll(() => logLines(output().edge).filter((line) => line.msg === "request").length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(requestIds.length - 1);

    const { regional, edge } = output();
    for (const [name, secret] of Object.entries({ ...secrets, devKey: stack.devKey })) {
      expect(edge.includes(secret), `${name} in the edge's output`).toBe(false);
      expect(regional.includes(secret), `${name} in regional's output`).toBe(false);
    }

    const edgeAccess = logLines(edge).filter((line) => line.msg === "request" || line.msg === "slow request");
    for (const requestId of ["redact-ok", "redact-stream", "redact-unknown-key", "redact-malformed", "redact-upstream"]) {
      const line = edgeAccess.find((entry) => entry.request_id === requestId);
      expect(line, `the edge's access line of ${requestId}`).toMatchObject({
        method: "POST",
        route: "/v1/chat/completions",
        status: expect.any(Number),
        duration_ms: expect.any(Number),
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    }
    expect(edgeAccess.find((entry) => entry.request_id === "redact-ok")).toMatchObject({
      status: 200,
      tenant: expect.any(String),
      provider: "primary",
      attempts: 1,
      cache: "bypass",
    });
    expect(edgeAccess.find((entry) => entry.request_id === "redact-stream")).toMatchObject({ stream: "done" });

    // The edge's key lookup (`/internal/keys/...`) shares the request's id: only the forwarded call's lines here.
    const regionalAccess = logLines(regional).filter(
      (line) => (line.msg === "request" || line.msg === "slow request") && line.route === "/v1/chat/completions",
    );
    const forwarded = regionalAccess.find((entry) => entry.request_id === "redact-ok");
    expect(forwarded).toMatchObject({ method: "POST", route: "/v1/chat/completions", status: 200, provider: "primary", attempts: 1 });
    // One trace across the tiers.
    expect(forwarded?.trace_id).toBe(edgeAccess.find((entry) => entry.request_id === "redact-ok")?.trace_id);
    expect(regionalAccess.find((entry) => entry.request_id === "redact-upstream")).toMatchObject({ status: failed });
  });
});
