import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  definitionKeys,
  forwardIssues,
  isProviderType,
  limitsShape,
  providerDefinitions,
  providerName,
  providerTypes,
} from "./providers/provider-entry.ts";
import { providerPrices } from "./pricing/prices.ts";
import { balancingStrategies } from "./routing/balancing/strategy.ts";
import type { PolicyOverrides } from "./routing/policy.ts";

const positiveMs = z.number().int().positive();

const policyShape = {
  timeouts: z
    .strictObject({ connectMs: positiveMs, firstByteMs: positiveMs, firstTokenMs: positiveMs, idleMs: positiveMs, totalMs: positiveMs })
    .partial()
    .optional(),
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
  /** The admission queue (regional/admission/): a route's, or on a provider the one of each of its plain `provider/model` names. */
  queue: z
    .strictObject({
      concurrency: z.number().int().min(1),
      maxQueued: z.number().int().nonnegative(),
      maxWaitMs: positiveMs,
      targetMs: z.number().int().min(1).max(1_000),
      intervalMs: positiveMs,
    })
    .partial()
    .optional(),
};

/** What a route answers with when every target is down, saturated or shed (regional/routing/degradation.ts). */
export const degradationSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("fallback_model"), model: z.string().min(1) }),
  z.strictObject({ mode: z.literal("reduce_max_tokens"), maxTokens: z.number().int().min(1) }),
  z.strictObject({ mode: z.literal("stale") }),
  z.strictObject({ mode: z.literal("fail_fast") }),
]);

const policyOverrides = z.strictObject(policyShape);

/**
 * What every provider entry may carry, typed or not: the policies, its `limits` and its
 * `prices` (so an entry without a type can price an env shorthand's or a mock's models).
 */
const providerShape = { ...policyShape, limits: limitsShape.optional(), prices: providerPrices.optional() };
const providerOverrides = z.strictObject(providerShape);

/** A provider defined here: its type's fields, the policy overrides and its limits. */
const typedEntries = {
  openai: z.strictObject({ ...providerShape, ...providerDefinitions.openai }),
  anthropic: z.strictObject({ ...providerShape, ...providerDefinitions.anthropic }),
  mock: z.strictObject({ ...providerShape, ...providerDefinitions.mock }),
};

type TypedEntry = z.output<(typeof typedEntries)[keyof typeof typedEntries]>;
export type ProviderEntry = TypedEntry | (z.output<typeof providerOverrides> & { type?: undefined });

/**
 * Picks the entry's schema by its `type`, so errors name that schema's fields (a zod union
 * would only say "Invalid input"). Without a type, an entry only overrides the policies (and limits) of
 * a provider defined elsewhere (env shorthand, mock), as before providers could be defined here.
 */
const providerEntry = z.unknown().transform((input, ctx): ProviderEntry => {
  const fields = input !== null && typeof input === "object" ? input : {};
  const type = "type" in fields ? fields.type : undefined;
  const given = type === undefined ? definitionKeys.filter((key) => Object.hasOwn(fields, key)) : [];
  if (given.length > 0) {
    ctx.addIssue({ code: "custom", path: ["type"], message: `required with ${given.join(", ")} (one of ${providerTypes.join(", ")})` });
    return z.NEVER;
  }
  const schema =
    type === undefined ? providerOverrides : isProviderType(type) ? typedEntries[type] : z.looseObject({ type: z.enum(providerTypes) });
  const result = schema.safeParse(input);
  if (!result.success) return forwardIssues(result.error, ctx);
  const entry = result.data as ProviderEntry;
  for (const model of unlistedPrices(entry))
    ctx.addIssue({ code: "custom", path: ["prices", model], message: "priced, but not one of this provider's models" });
  return entry;
});

/** Models an entry prices but does not list: a typo would otherwise leave the real model unpriced. */
function unlistedPrices(entry: ProviderEntry): string[] {
  if (entry.type !== "openai" && entry.type !== "anthropic") return [];
  const listed = new Set(entry.models.map((model) => model.id));
  return Object.keys(entry.prices ?? {}).filter((model) => !listed.has(model));
}

const target = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().positive().optional(),
  /** Tokens the model accepts; a context-length failure may move to a larger one. */
  contextWindow: z.number().int().positive().optional(),
});

const route = policyOverrides.extend({
  targets: z.array(target).min(1),
  /** How each request orders the targets (see `routing/balancing/`); the rest are its fallbacks. */
  strategy: z.enum(balancingStrategies).default("ordered"),
  /** Send a content-policy rejection to the next target instead of returning it. */
  fallbackOnContentPolicy: z.boolean().default(false),
  /**
   * A chat stream that breaks or stalls after content reached the client is continued on
   * another target that accepts an assistant prefill (see README, "Stream continuation").
   */
  continueOnBreak: z.boolean().default(true),
  degradation: degradationSchema.optional(),
});

export const routesFile = z
  .strictObject({
    routes: z.record(z.string().min(1), route).default({}),
    providers: z.record(z.string(), providerEntry).default({}),
  })
  .superRefine((file, ctx) => {
    // Checked here rather than by a key schema, whose failure only says "Invalid key in record".
    for (const name of Object.keys(file.providers)) {
      const named = providerName.safeParse(name);
      if (!named.success)
        ctx.addIssue({ code: "custom", path: ["providers", name], message: named.error.issues[0]?.message ?? "not a valid provider name" });
    }
  })
  .transform((file) => ({
    ...file,
    routes: Object.fromEntries(Object.entries(file.routes).map(([name, config]) => [name, withModelWindows(config, file.providers)])),
  }));

/** A target takes the context window its provider entry gives the model, unless it sets one. */
function withModelWindows(config: RouteConfig, providers: Record<string, ProviderEntry>): RouteConfig {
  const windowOf = (target: RouteTarget) => {
    const entry = Object.hasOwn(providers, target.provider) ? providers[target.provider] : undefined;
    const models = entry?.type === "openai" || entry?.type === "anthropic" ? entry.models : [];
    return models.find((model) => model.id === target.model)?.contextWindow;
  };
  return { ...config, targets: config.targets.map((target) => ({ ...target, contextWindow: target.contextWindow ?? windowOf(target) })) };
}

export type RoutesFile = z.output<typeof routesFile>;
export type RouteConfig = z.output<typeof route>;
export type RouteTarget = z.output<typeof target>;
export type Degradation = z.output<typeof degradationSchema>;
export type QueueOverrides = NonNullable<RouteConfig["queue"]>;
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
