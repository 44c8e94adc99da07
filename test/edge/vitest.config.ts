import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import "../infra/provided-context.ts";
import "./provided-context.ts";

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: repo("wrangler.toml") },
      miniflare: {
        bindings: {
          // The fake origin that test/edge/fake-origin.ts starts before the tests.
          REGIONAL_ORIGIN: `http://127.0.0.1:${inject("originPort")}`,
          ORIGIN_TIMEOUT_MS: "5000",
          EDGE_SIGNING_SECRET: inject("signingSecret"),
          // The credential of /health/detailed and /metrics (harness.ts: opsHeaders).
          METRICS_API_KEY: "metrics-api-key-for-the-edge-tests-0123456789",
          // Metric batches leave within 50 ms: the runner waits for each request's waitUntil work.
          METRICS_FLUSH_INTERVAL_MS: "50",
          // The Upstash REST shim over a real redis-server (test/infra/edge-global-setup.ts).
          UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
          UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
        },
      },
    })),
  ],
  test: {
    name: "edge",
    root: repo(""),
    include: ["test/edge/**/*.test.ts"],
    globalSetup: [repo("test/infra/edge-global-setup.ts"), repo("test/edge/fake-origin.ts")],
  },
});
