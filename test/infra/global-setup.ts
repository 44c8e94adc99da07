import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import "./provided-context.ts";
import { startPostgres } from "./postgres.ts";
import { startRedis } from "./redis.ts";
import { startUpstashShim } from "./upstash-shim.ts";

/**
 * Starts what the Node suites share: a Postgres primary + streaming replica, Redis and the
 * Upstash REST shim over it. Tests that stop, crash or pause a node start their own cluster
 * with startPostgres() rather than disturb this one.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async (): Promise<void> => {
    await Promise.allSettled(stops.reverse().map(async (stop) => await stop()));
  };
  const track = async <T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    const service = await starting;
    stops.push(() => service.stop());
    return service;
  };
  try {
    // allSettled: when one fails, the other must finish starting before teardown can stop it.
    const [pg, redis] = await Promise.allSettled([track(startPostgres()), track(startRedis())]);
    if (pg.status === "rejected") throw pg.reason;
    if (redis.status === "rejected") throw redis.reason;
    const shim = await track(startUpstashShim({ redisUrl: redis.value.url, token: randomBytes(16).toString("hex") }));
    project.provide("primaryUrl", pg.value.primaryUrl);
    project.provide("replicaUrl", pg.value.replicaUrl);
    project.provide("redisUrl", redis.value.url);
    project.provide("upstashUrl", shim.url);
    project.provide("upstashToken", shim.token);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
