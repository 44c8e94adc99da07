import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogueRoutes } from "../support/fault-scenarios.ts";
import { chatRoute, startGatewayStack, type GatewayStack } from "../support/gateway-stack.ts";

/**
 * W3C trace context across the real processes: `wrangler dev` → regional → the fault
 * upstream (which records the `traceparent` each provider call carried). Tracing is off at
 * regional, as by default: it passes the edge's context on unchanged.
 */
let stack: GatewayStack;

beforeAll(async () => {
  stack = await startGatewayStack({
    routes: catalogueRoutes,
    regionalEnv: () => ({ FAULT_UPSTREAM_KEY: "sk-fault", LOG_LEVEL: "info" }),
    edge: true,
  });
}, 180_000);
afterAll(async () => await stack?.close());

async function chat(headers: Record<string, string>, requestId: string): Promise<Response> {
  const res = await stack.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId, ...headers },
    body: JSON.stringify({ model: chatRoute, messages: [{ role: "user", content: "trace me" }] }),
  });
  await res.text();
  expect(res.status).toBe(200);
  return res;
}

/** The trace id of the one provider call since `afterId`. */
async function upstreamTraceId(afterId: number): Promise<string | undefined> {
  const records = await stack.upstream.requests({ endpoint: "chat", afterId });
  expect(records).toHaveLength(1);
  return /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(records[0]?.traceparent ?? "")?.[1];
}

const lastId = async () => (await stack.upstream.requests()).at(-1)?.id ?? 0;

/** The access-log line a process wrote for this request id. */
function accessLine(output: string, requestId: string): Record<string, unknown> | undefined {
  for (const line of output.split("\n")) {
    const start = line.indexOf("{");
    if (start < 0 || !line.includes(requestId)) continue;
    try {
      const parsed = JSON.parse(line.slice(start)) as Record<string, unknown>;
      if (parsed.msg === "request" && parsed.request_id === requestId) return parsed;
    } catch {
      // Not a log line of ours.
    }
  }
  return undefined;
}

describe("a trace from the client to the provider, through both tiers", () => {
  it("reaches the provider with the trace id of the client's traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const after = await lastId();

    await chat({ traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: "vendor=1" }, "trace-e2e-given");

    expect(await upstreamTraceId(after)).toBe(traceId);
    const [record] = await stack.upstream.requests({ endpoint: "chat", afterId: after });
    expect(record?.tracestate).toBe("vendor=1");
  });

  it("starts a trace at the edge for a request without one, shared by regional's log and the provider", async () => {
    const after = await lastId();

    await chat({}, "trace-e2e-started");

    const traceId = await upstreamTraceId(after);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await expect.poll(() => accessLine(stack.regional.output(), "trace-e2e-started")?.trace_id, { timeout: 5_000 }).toBe(traceId);
    await expect.poll(() => accessLine(stack.edge?.output() ?? "", "trace-e2e-started")?.trace_id, { timeout: 5_000 }).toBe(traceId);
  });
});
