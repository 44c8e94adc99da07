import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const repo = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

export default defineConfig({
  test: {
    name: "node",
    root: repo(""),
    include: [
      "test/shared/**/*.test.ts",
      "test/regional/**/*.test.ts",
      "test/observability/**/*.test.ts",
      "test/e2e/**/*.test.ts",
      "test/infra/**/*.test.ts",
      "test/terraform/**/*.test.ts",
      "test/structure/**/*.test.ts",
      "test/browser/**/*.test.ts",
      "test/bench/**/*.test.ts",
    ],
    globalSetup: [repo("test/infra/global-setup.ts")],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
