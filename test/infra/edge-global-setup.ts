import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import "./provided-context.ts";
import { startRedis } from "./redis.ts";
import { startUpstashShim } from "./upstash-shim.ts";

/**
 * For the workerd project: Redis and the Upstash REST shim only. The edge config hands
 * `upstashUrl`/`upstashToken` to the Worker as bindings.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  try {
    const shim = await startUpstashShim({ redisUrl: redis.url, token: randomBytes(16).toString("hex") });
    project.provide("upstashUrl", shim.url);
    project.provide("upstashToken", shim.token);
    return async () => {
      await shim.stop();
      await redis.stop();
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
