import { acquire, createBreaker, defaultBreakerPolicy, recordSuccess } from "../shared/circuit-breaker.ts";
import { GatewayError } from "../shared/error.ts";
import { classifyFailure } from "../shared/resilience/outcome.ts";
import { createLogger } from "../regional/logger.ts";
import { createRegistry } from "../regional/providers/registry.ts";
import type { Provider } from "../regional/providers/types.ts";
import { createBreakers } from "../regional/resilience/breakers.ts";
import { createPlanner } from "../regional/routing/plan.ts";
import { createRetryBudget } from "../shared/resilience/retry-budget.ts";
import { createRouter } from "../regional/routing/router.ts";
import { parseRoutes } from "../regional/routes-file.ts";
import { microsecondsPerOp, microsecondsPerOpSync, type MicroResult } from "./micro.ts";

function stubProvider(name: string): Provider {
  const unused = () => Promise.reject(new Error("not called by the bench"));
  return { name, models: () => [{ id: "m", kind: "chat" }], chat: unused, chatStream: unused, embeddings: unused };
}

/**
 * The resilience policies in isolation: a breaker decision with its bookkeeping, the
 * retry budget, the whole policy stack around a call that succeeds at once, and falling
 * back past a provider whose breaker is open.
 */
export async function policyFigures(iterations = 200_000): Promise<MicroResult[]> {
  const breaker = createBreaker();
  let now = 0;
  const breakerUs = microsecondsPerOpSync(iterations * 5, () => {
    now += 1;
    acquire(breaker, defaultBreakerPolicy, now);
    recordSuccess(breaker, defaultBreakerPolicy, now);
  });

  const budget = createRetryBudget();
  const budgetUs = microsecondsPerOpSync(iterations * 5, () => {
    now += 1;
    budget.recordRequest(now);
    budget.tryRetry(now);
  });

  const logger = createLogger("silent");
  // One failed attempt's accounting: classify the error, lease both breakers (provider and
  // provider/model), settle. The failures are spread out in time so the breaker stays closed.
  const leased = createBreakers(logger, () => now);
  const scope = { provider: "p", target: "p/m" };
  const failure = new GatewayError("upstream_error", { upstreamStatus: 503 });
  const accountingUs = microsecondsPerOpSync(iterations * 5, () => {
    now += 60_000;
    const admission = leased.lease(scope, defaultBreakerPolicy, 30_000);
    if (admission.admitted) admission.lease.settle(classifyFailure(failure, false));
  });

  const registry = createRegistry([stubProvider("first"), stubProvider("second")]);
  const routes = parseRoutes({
    routes: {
      chain: {
        targets: [
          { provider: "first", model: "m" },
          { provider: "second", model: "m" },
        ],
      },
    },
  });
  const router = createRouter({ planner: createPlanner(registry, routes), breakers: createBreakers(logger), logger });
  const signal = new AbortController().signal;
  const answer = async () => "ok";

  const directUs = await microsecondsPerOp(iterations, answer);
  const stackUs = await microsecondsPerOp(iterations, () => router.run("first/m", "chat", signal, answer));
  router.breakers.force("first", "open");
  const fallbackUs = await microsecondsPerOp(iterations, () => router.run("chain", "chat", signal, answer));

  return [
    { id: "breaker decision + bookkeeping", value: breakerUs, unit: "µs/op", aim: { op: "≤", value: 1 } },
    { id: "retry budget bookkeeping", value: budgetUs, unit: "µs/op", aim: { op: "≤", value: 1 } },
    { id: "classification + breaker lease, per attempt", value: accountingUs, unit: "µs/op", aim: { op: "≤", value: 1 } },
    { id: "policy stack, success path (added)", value: stackUs - directUs, unit: "µs/op", aim: { op: "≤", value: 100 } },
    { id: "fallback past an open breaker (added)", value: fallbackUs - directUs, unit: "µs/op", aim: { op: "≤", value: 1000 } },
  ];
}
