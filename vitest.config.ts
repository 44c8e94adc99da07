import { defineConfig } from "vitest/config";

/** One `vitest run` for every suite: the edge inside workerd, the rest on Node. */
export default defineConfig({
  test: {
    projects: ["test/edge/vitest.config.ts", "test/vitest.node.config.ts"],
  },
});
