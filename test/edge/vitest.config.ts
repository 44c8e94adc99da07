import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
        },
      },
    })),
  ],
  test: {
    name: "edge",
    root: repo(""),
    include: ["test/edge/**/*.test.ts"],
    globalSetup: [repo("test/edge/fake-origin.ts")],
  },
});
