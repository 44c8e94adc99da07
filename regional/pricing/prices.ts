import { z } from "zod";
import type { PriceSheet } from "../../shared/contract/budgets.ts";
import { moneyOf, shifted, type Money } from "./money.ts";

const priceFields = ["input", "cachedInput", "output", "image", "second"] as const;
const amount = z.number().nonnegative();

/**
 * What a provider charges for one model: USD per 1,000,000 tokens for `input`, `cachedInput`
 * (prompt tokens read from its cache; `input` when unset) and `output`, USD per `image`, USD
 * per `second` of audio.
 */
export interface ModelPrice {
  input: number;
  cachedInput?: number;
  output: number;
  image?: number;
  second?: number;
}

export const modelPrice = z
  .looseObject({
    input: amount,
    cachedInput: amount.optional(),
    output: amount,
    image: amount.optional(),
    second: amount.optional(),
  })
  // Checked here rather than by strictObject, whose message names no field and no known one.
  .superRefine((price, ctx) => {
    for (const key of Object.keys(price)) {
      if (!(priceFields as readonly string[]).includes(key))
        ctx.addIssue({ code: "custom", path: [key], message: `unknown price; a model's prices are ${priceFields.join(", ")}` });
    }
  })
  .transform((price): ModelPrice => ({
    input: price.input,
    output: price.output,
    ...(price.cachedInput !== undefined && { cachedInput: price.cachedInput }),
    ...(price.image !== undefined && { image: price.image }),
    ...(price.second !== undefined && { second: price.second }),
  }));

/** A provider entry's `prices`, by the provider's own model name. */
export const providerPrices = z.record(z.string().min(1), modelPrice);

export type ProviderPrices = Record<string, ModelPrice>;

/** A model's prices as costs are computed with them: per token, per image, per second. */
export interface UnitPrices {
  inputToken: Money;
  cachedInputToken: Money;
  outputToken: Money;
  image?: Money;
  second?: Money;
}

export interface PriceBook {
  /** What `provider` charges for `model` (its own name), or undefined when no price is known. */
  of(provider: string, model: string): UnitPrices | undefined;
  /** For `GET /internal/prices`: per model clients can name, the highest input and output price of any target. */
  sheet(): PriceSheet;
}

const perToken = (perMillion: number): Money => shifted(moneyOf(perMillion), 6);

function unitPrices(price: ModelPrice): UnitPrices {
  return {
    inputToken: perToken(price.input),
    cachedInputToken: perToken(price.cachedInput ?? price.input),
    outputToken: perToken(price.output),
    ...(price.image !== undefined && { image: moneyOf(price.image) }),
    ...(price.second !== undefined && { second: moneyOf(price.second) }),
  };
}

/** The models a client may name and what may serve each: a route by its targets, as `provider/model`. */
export type RouteTargets = Record<string, { targets: ReadonlyArray<{ provider: string; model: string }> }>;

/**
 * The prices of every provider, fixed at start. The sheet lists each priced `provider/model`
 * and each route with at least one priced target, at the highest price of its priced targets:
 * the edge reserves money before it knows which target will answer.
 */
export function createPriceBook(byProvider: Record<string, ProviderPrices>, routes: RouteTargets = {}): PriceBook {
  const book = new Map<string, UnitPrices>();
  const sheet: PriceSheet = { models: {} };
  const listed = (provider: string, model: string): ModelPrice | undefined => {
    const prices = Object.hasOwn(byProvider, provider) ? byProvider[provider] : undefined;
    return prices && Object.hasOwn(prices, model) ? prices[model] : undefined;
  };
  for (const [provider, prices] of Object.entries(byProvider)) {
    for (const [model, price] of Object.entries(prices)) {
      book.set(`${provider}/${model}`, unitPrices(price));
      sheet.models[`${provider}/${model}`] = { input: price.input, output: price.output };
    }
  }
  for (const [route, { targets }] of Object.entries(routes)) {
    const priced = targets.flatMap((target) => listed(target.provider, target.model) ?? []);
    if (priced.length === 0) continue;
    sheet.models[route] = {
      input: Math.max(...priced.map((price) => price.input)),
      output: Math.max(...priced.map((price) => price.output)),
    };
  }
  return {
    of: (provider, model) => book.get(`${provider}/${model}`),
    sheet: () => sheet,
  };
}
