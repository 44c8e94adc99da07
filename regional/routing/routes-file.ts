import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { PolicyOverrides } from "./policy.ts";

const positiveMs = z.number().int().positive();

const policyOverrides = z.strictObject({
  timeouts: z.strictObject({ connectMs: positiveMs, firstByteMs: positiveMs, firstTokenMs: positiveMs, idleMs: positiveMs, totalMs: positiveMs }).partial().optional(),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(10),
      initialDelayMs: z.number().int().nonnegative(),
      multiplier: z.number().min(1),
      maxDelayMs: z.number().int().nonnegative(),
      retryAfterCapMs: z.number().int().nonnegative(),
    })
    .partial()
    .optional(),
  breaker: z
    .strictObject({
      trip: z.enum(["count", "ratio"]),
      failureThreshold: z.number().int().min(1),
      failureRatio: z.number().gt(0).max(1),
      minimumCalls: z.number().int().min(1),
      windowMs: positiveMs,
      coolDownMs: positiveMs,
      halfOpenMaxProbes: z.number().int().min(1),
      halfOpenSuccesses: z.number().int().min(1),
    })
    .partial()
    .optional(),
});

const target = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().positive().optional(),
  /** Tokens the model accepts; a context-length failure may move to a larger one. */
  contextWindow: z.number().int().positive().optional(),
});

const route = policyOverrides.extend({
  targets: z.array(target).min(1),
  /** `ordered` tries targets in order; `weighted` picks the first by weight, then falls back in order. */
  strategy: z.enum(["ordered", "weighted"]).default("ordered"),
  /** Send a content-policy rejection to the next target instead of returning it. */
  fallbackOnContentPolicy: z.boolean().default(false),
});

export const routesFile = z.strictObject({
  routes: z.record(z.string().min(1), route).default({}),
  providers: z.record(z.string().min(1), policyOverrides).default({}),
});

export type RoutesFile = z.infer<typeof routesFile>;
export type RouteConfig = z.infer<typeof route>;
export type RouteTarget = z.infer<typeof target>;
export type ProviderOverrides = PolicyOverrides;

/** Reads and validates the routes file; a bad file stops start-up naming the path and field. */
export async function loadRoutesFile(path: string): Promise<RoutesFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`Routes file ${path}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`Routes file ${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseRoutes(json, path);
}

export function parseRoutes(json: unknown, source = "routes"): RoutesFile {
  const result = routesFile.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  throw new Error(`Routes file ${source}: ${problems.join("; ")}`);
}
