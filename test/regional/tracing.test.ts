import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { executionAsyncId } from "node:async_hooks";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import { createTracing, tracingFromEnv, type Tracing } from "../../regional/observability/tracing.ts";
import { traceSettings } from "../../regional/observability/trace-settings.ts";
import { createOpenAiProvider } from "../../regional/providers/openai/index.ts";
import type { Provider } from "../../regional/providers/types.ts";
import { startFakeUpstream } from "../support/fake-upstream.ts";
import { startFaultUpstream, type FaultUpstream, type RequestRecord } from "../support/fault-upstream/client.ts";
import { createTestApp, postJson, sseDataOf, testAdminKey, type TestApp } from "../support/regional-app.ts";

/**
 * W3C trace context through regional: from the incoming `traceparent` to the provider (the
 * fault upstream, a separate process speaking OpenAI's API), the spans an in-memory exporter
 * receives, and the trace id in error bodies — with tracing on, and off.
 */

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const clientSpanId = "00f067aa0ba902b7";
const traceparent = `00-${traceId}-${clientSpanId}-01`;

let upstream: FaultUpstream;
let providers: Provider[];
let exporter: InMemorySpanExporter;
let tracing: Tracing;
/** The app with a tracer, as with OTEL_* set. */
let traced: TestApp;
/** The app without one: tracing off. */
let untraced: TestApp;

// One attempt per target and breakers that never trip: the fallback is what these tests read.
const once = { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1_000 } };
const routes = {
  routes: {
    traced: {
      targets: [
        { provider: "primary", model: "model-a" },
        { provider: "secondary", model: "model-a" },
      ],
    },
  },
  providers: { primary: once, secondary: once },
};

beforeAll(async () => {
  upstream = await startFaultUpstream(["primary", "secondary"]);
  providers = ["primary", "secondary"].map((name) =>
    createOpenAiProvider({
      name,
      baseUrl: upstream.baseUrl(name),
      models: [{ id: "model-a", kind: "chat" }],
      // A stream cut on one can go on on the other (a continuation's spans are read below).
      capabilities: { prefill: true },
    }),
  );
  exporter = new InMemorySpanExporter();
  tracing = createTracing({ exporter });
  traced = await createTestApp(inject("primaryUrl"), { providers, routes, tracer: tracing.tracer, adminKey: testAdminKey });
  untraced = await createTestApp(inject("primaryUrl"), { providers, routes });
});
afterAll(async () => {
  await traced?.close();
  await untraced?.close();
  await tracing?.shutdown();
  await upstream?.close();
});
beforeEach(async () => {
  await upstream.reset();
  exporter.reset();
});

const ask = (t: TestApp, headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
  t.app.request(
    postJson(
      "/v1/chat/completions",
      { model: "traced", messages: [{ role: "user", content: "hello there" }], ...extra },
      t.apiKey,
      headers,
    ),
  );

/** `version-traceId-parentId-flags` as the provider received it. */
const traceparentOf = (record: RequestRecord | undefined) => {
  const [version, trace, parent, flags] = (record?.traceparent ?? "").split("-");
  return { version, trace, parent, flags };
};

/** Every span of the trace, once the batch processor handed them over. */
async function spansOf(trace: string): Promise<ReadableSpan[]> {
  await tracing.flush();
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === trace);
}

const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

/**
 * Whether this process tracks promises (async hooks' promise hooks, which an AsyncLocalStorage
 * turns on while it is enabled): then each await resumes in an async resource of its own.
 */
async function promisesTracked(): Promise<boolean> {
  await null;
  const first = executionAsyncId();
  await null;
  return executionAsyncId() !== first;
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
}

describe("with a tracer", () => {
  it("sends the provider the incoming trace id, with the attempt's span as the parent", async () => {
    const response = await ask(traced, { traceparent, tracestate: "vendor=opaque" });
    expect(response.status).toBe(200);

    const [record] = await upstream.requests({ provider: "primary" });
    const sent = traceparentOf(record);
    expect(sent).toMatchObject({ version: "00", trace: traceId, flags: "01" });
    expect(sent.parent).not.toBe(clientSpanId);
    expect(record?.tracestate).toBe("vendor=opaque");
    const attempt = only(await spansOf(traceId), "chat primary/model-a");
    expect(sent.parent).toBe(attempt.spanContext().spanId);
  });

  it("records the request, an attempt per target with its outcome, and the request's queries beneath it", async () => {
    await upstream.setRules("primary", "model-a", [{ status: 500, times: 1 }]);
    const response = await ask(traced, { traceparent, "x-request-id": "trace-req-0001" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-provider")).toBe("secondary");

    const spans = await spansOf(traceId);
    const server = only(spans, "POST /v1/chat/completions");
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.parentSpanContext?.spanId).toBe(clientSpanId);
    expect(server.attributes).toMatchObject({
      "http.route": "/v1/chat/completions",
      "http.response.status_code": 200,
      "breakwater.request_id": "trace-req-0001",
    });

    const [failed, fallback] = childrenOf(spans, server)
      .filter((span) => span.kind === SpanKind.CLIENT && span.name.startsWith("chat "))
      .sort((a, b) => Number(a.attributes["breakwater.attempt.fallback"]) - Number(b.attributes["breakwater.attempt.fallback"]));
    expect(failed?.name).toBe("chat primary/model-a");
    expect(failed?.attributes).toMatchObject({
      "gen_ai.provider.name": "primary",
      "gen_ai.request.model": "model-a",
      "breakwater.attempt.retry": 0,
      "breakwater.attempt.fallback": 0,
      "breakwater.attempt.continuation": false,
      "breakwater.attempt.outcome": "provider_fault",
      "error.type": "upstream_error",
      "http.response.status_code": 500,
    });
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(fallback?.name).toBe("chat secondary/model-a");
    expect(fallback?.attributes).toMatchObject({ "breakwater.attempt.fallback": 1, "breakwater.attempt.outcome": "ok" });
    expect(fallback?.status.code).toBe(SpanStatusCode.UNSET);

    // The API key is looked up in Postgres on the way in (no key cache in these tests).
    const queries = childrenOf(spans, server).filter((span) => span.attributes["db.system.name"] === "postgresql");
    expect(queries.length).toBeGreaterThan(0);
    expect(queries[0]?.attributes).toMatchObject({
      "db.system": "postgresql",
      "db.operation.name": "SELECT",
      "breakwater.db.node": "primary",
    });
    for (const query of queries) expect(String(query.attributes["db.query.text"])).not.toContain(traced.apiKey);
  });

  it("traces the usage batch write, without the values it writes", async () => {
    await ask(traced, { traceparent, "x-request-id": "trace-usage-row" });
    await traced.deps.usage.flush();
    await tracing.flush();
    const insert = exporter.getFinishedSpans().find((span) => span.name === "INSERT usage");
    expect(insert?.attributes).toMatchObject({ "db.operation.name": "INSERT", "breakwater.db.node": "primary" });
    expect(String(insert?.attributes["db.query.text"])).not.toContain("trace-usage-row");
  });

  it("marks a stream's first token on its attempt and spans the rest of the stream within the request", async () => {
    // Chunks apart, so the stream surely ends after the client had the headers (in process, a quick one could be written whole before).
    await upstream.setRules("primary", "*", [{ intervalMs: 20 }]);
    const response = await ask(traced, { traceparent }, { stream: true });
    // On the spans' clock (OpenTelemetry's hrTime): when the client had the headers, before the stream's body.
    const headersAt = performance.timeOrigin + performance.now();
    const events = await sseDataOf(response);
    expect(events.at(-1)).toBe("[DONE]");

    const spans = await spansOf(traceId);
    const server = only(spans, "POST /v1/chat/completions");
    const attempt = only(spans, "chat primary/model-a");
    expect(attempt.events.map((event) => event.name)).toContain("first_token");
    const stream = only(spans, "breakwater.stream");
    expect(stream.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(stream.attributes).toMatchObject({ "breakwater.stream.parts": 1, "breakwater.stream.outcome": "ok" });
    // The request's span lasts until its stream ended, not only until the headers went out.
    expect(hrMs(server.endTime)).toBeGreaterThan(headersAt);
  });

  it("parents a continuation's attempt by the stream's span, and sends its provider that attempt's span", async () => {
    await upstream.setRules("primary", "*", [{ cutAfter: 2 }]);
    const events = await sseDataOf(await ask(traced, { traceparent }, { stream: true }));
    expect(events.at(-1)).toBe("[DONE]");

    const spans = await spansOf(traceId);
    const stream = only(spans, "breakwater.stream");
    expect(stream.attributes).toMatchObject({ "breakwater.stream.parts": 2 });
    const continued = only(spans, "chat secondary/model-a");
    expect(continued.parentSpanContext?.spanId).toBe(stream.spanContext().spanId);
    expect(continued.attributes).toMatchObject({ "breakwater.attempt.continuation": true, "breakwater.attempt.outcome": "ok" });
    const sent = traceparentOf((await upstream.requests()).find((record) => record.provider === "secondary"));
    expect(sent).toMatchObject({ trace: traceId, parent: continued.spanContext().spanId });
  });

  it("traces an admin request's queries beneath its span", async () => {
    const response = await traced.app.request(`/admin/tenants/${traced.tenantId}/keys`, {
      headers: { authorization: `Bearer ${testAdminKey}`, traceparent },
    });
    expect(response.status).toBe(200);
    const spans = await spansOf(traceId);
    const server = only(spans, "GET /admin/tenants/:id/keys");
    const queries = childrenOf(spans, server).filter((span) => span.attributes["db.system.name"] === "postgresql");
    expect(queries.map((span) => span.name)).toContain("SELECT api_keys");
  });

  it("leaves no promise tracking on once traced requests that read the database are done", async () => {
    // What the process pays per promise while a context is entered: only around such work, never after it.
    expect(await promisesTracked()).toBe(false);
    const answered = await ask(traced, { traceparent });
    expect(answered.status).toBe(200);
    const listed = await traced.app.request(`/admin/tenants/${traced.tenantId}/keys`, {
      headers: { authorization: `Bearer ${testAdminKey}`, traceparent },
    });
    expect(listed.status).toBe(200);
    await tracing.flush();
    expect(await promisesTracked()).toBe(false);
    // The key was looked up beneath the chat's span all the same.
    const chat = only(await spansOf(traceId), "POST /v1/chat/completions");
    expect(childrenOf(await spansOf(traceId), chat).some((span) => span.attributes["db.system.name"] === "postgresql")).toBe(true);
  });

  it("puts the incoming trace id beside the request id in the error body", async () => {
    await upstream.setRules("primary", "*", [{ status: 500 }]);
    await upstream.setRules("secondary", "*", [{ status: 503 }]);
    const response = await ask(traced, { traceparent });
    expect(response.status).toBe(503);
    const body = (await response.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: "unavailable", request_id: response.headers.get("x-request-id"), trace_id: traceId });
    const server = only(await spansOf(traceId), "POST /v1/chat/completions");
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes).toMatchObject({ "http.response.status_code": 503, "error.type": "unavailable" });
  });

  it("starts a trace for a request that came without one", async () => {
    const response = await ask(traced, {});
    expect(response.status).toBe(200);
    const sent = traceparentOf((await upstream.requests())[0]);
    expect(sent.trace).toMatch(/^[0-9a-f]{32}$/);
    expect(sent.trace).not.toBe(traceId);
    expect((await spansOf(sent.trace!)).map((span) => span.name)).toContain("POST /v1/chat/completions");
  });
});

describe("without a tracer (tracing off)", () => {
  it("still carries the incoming traceparent and tracestate to the provider, unchanged", async () => {
    const response = await ask(untraced, { traceparent, tracestate: "vendor=opaque" });
    expect(response.status).toBe(200);
    const [record] = await upstream.requests();
    expect(record?.traceparent).toBe(traceparent);
    expect(record?.tracestate).toBe("vendor=opaque");
    expect(await spansOf(traceId)).toEqual([]);
  });

  it("answers errors with the incoming trace id, or a random one when none came, and sends the provider none of its own", async () => {
    await upstream.setRules("primary", "*", [{ status: 500 }]);
    await upstream.setRules("secondary", "*", [{ status: 500 }]);
    const carried = (await (await ask(untraced, { traceparent })).json()) as ErrorBody;
    expect(carried.error.trace_id).toBe(traceId);

    await upstream.reset();
    await upstream.setRules("primary", "*", [{ status: 500 }]);
    await upstream.setRules("secondary", "*", [{ status: 500 }]);
    const fresh = (await (await ask(untraced, {})).json()) as ErrorBody;
    expect(fresh.error.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect((await upstream.requests()).map((record) => record.traceparent)).toEqual([null, null]);
  });
});

describe("set-up from OTEL_* variables", () => {
  it("is off unless an OTLP endpoint is set, and off when the SDK is disabled", () => {
    expect(tracingFromEnv({})).toBeUndefined();
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("sends to the traces path of the shared endpoint, or to the traces endpoint as given", () => {
    expect(traceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toMatchObject({
      url: "http://collector:4318/v1/traces",
      serviceName: "breakwater-regional",
      sampler: "parentbased_always_on",
    });
    expect(traceSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" })?.url).toBe("http://collector:4318/custom");
  });

  it("stops start-up on a sampler it does not know or a ratio out of range, naming the variable", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(() => traceSettings({ ...endpoint, OTEL_TRACES_SAMPLER: "sometimes" })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => traceSettings({ ...endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
  });

  it("exports spans as OTLP/HTTP JSON to the endpoint, with the service name", async () => {
    const collector = await startFakeUpstream((_, response) => response.writeHead(200, { "content-type": "application/json" }).end("{}"));
    const fromEnv = tracingFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.baseUrl.replace(/\/v1$/, ""),
      OTEL_SERVICE_NAME: "regional-test",
    });
    try {
      fromEnv?.tracer.startSpan("exported").end();
      await fromEnv?.flush();
      const [sent] = collector.requests;
      expect(sent).toMatchObject({ method: "POST", path: "/v1/traces" });
      expect(sent?.headers["content-type"]).toBe("application/json");
      expect(sent?.body).toContain('"stringValue":"regional-test"');
      expect(sent?.body).toContain('"name":"exported"');
    } finally {
      await fromEnv?.shutdown();
      await collector.close();
    }
  });
});

const hrMs = ([seconds, nanos]: [number, number]) => seconds * 1_000 + nanos / 1e6;
