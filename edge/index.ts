import { createApp } from "./app.ts";
import type { Env } from "./env.ts";

export { MetricsAggregator } from "./durable-objects/metrics-aggregator.ts";
export { OriginBreaker } from "./durable-objects/origin-breaker.ts";
export { RateLimiter } from "./durable-objects/rate-limiter.ts";

const app = createApp();

/** The Worker entry; its Durable Object classes are exported beside it. */
export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
