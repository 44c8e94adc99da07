import type { Budget, PriceSheet } from "../../shared/contract/budgets.ts";
import type { TokenEstimate } from "../../shared/token-estimate.ts";
import type { BudgetCharge } from "../durable-objects/rate-limiter.ts";
import { budgetWindow } from "./budget-window.ts";
import type { BudgetCharges } from "./limiter.ts";
import { microsFromDecimal, microsFromUsd, tokenMicros } from "./money.ts";

/** What the edge knows of a request before it runs, for what its budgets hold back. */
export interface BudgetRequest {
  estimate: TokenEstimate;
  /**
   * How the request is priced: by the tokens of `model` (a JSON body naming one), at the
   * default reservation (a body the edge does not read, such as a multipart upload, or a
   * model the sheet does not price by tokens), or not in advance at all (no model: listings,
   * GPU calls), when only a cost regional reports is charged.
   */
  pricing: { by: "tokens"; model: string } | { by: "default" } | { by: "none" };
  /** Regional's price sheet; null when it could not be read (money is then reserved at the default). */
  prices: PriceSheet | null;
  /** Micro-dollars held back where a price is unknown. */
  defaultReservationMicros: number;
  now: number;
}

/** How a request ended, as the usage meter and the answer tell it. */
export interface Spend {
  /** The tokens the rate limits settle with (0 for a cache hit or a request that never ran). */
  tokens: number;
  /** Prompt and completion tokens the answer reported or the meter counted; null when unknown. */
  usage: { prompt: number; completion: number } | null;
  /** Regional's `x-breakwater-cost-usd` (header or the stream's closing comment); null when absent. */
  costUsd: string | null;
  /** Charged nothing: an answer from the edge's cache, or a client gone before the answer. */
  free: boolean;
  /** The answer was an error (4xx/5xx): without a cost or usage, nothing is charged. */
  failed: boolean;
}

export interface BudgetPlan {
  /** The reservations, by the limiter that holds each budget. */
  charges: BudgetCharges;
  /** What the request used of each budget, by id, in the budget's unit; a budget left out keeps its reservation. */
  used(spend: Spend): Record<string, number>;
}

/**
 * The reservations a request makes from its key's and tenant's budgets, each in the window
 * the clock is in now: tokens hold back the token estimate; money the estimate priced at the
 * highest input and output prices any provider charges for the model, or the default
 * reservation. When the request ends, `used` turns how it went into amounts per budget.
 */
export function planBudgets(budgets: Budget[], request: BudgetRequest): BudgetPlan {
  const reservedMicros = reservationMicros(request);
  const charges: BudgetCharges = { key: [], tenant: [] };
  for (const budget of budgets) {
    const window = budgetWindow(budget.period, budget.timeZone, request.now);
    const limit = limitOf(budget);
    const charge: BudgetCharge = {
      budget: budget.id,
      start: window.start,
      resetAt: window.resetAt,
      limit,
      softLimit: budget.softThreshold === null ? null : Math.ceil(budget.softThreshold * limit),
      cost: budget.unit === "usd" ? reservedMicros : request.estimate.total,
    };
    charges[budget.scope].push(charge);
  }
  return {
    charges,
    used(spend) {
      const micros = spentMicros(request, spend);
      const used: Record<string, number> = {};
      for (const budget of budgets) {
        if (budget.unit === "tokens") used[budget.id] = spend.tokens;
        else if (micros !== null) used[budget.id] = micros;
      }
      return used;
    },
  };
}

/** Endpoints whose price is per image or per second of audio, which the price sheet does not give. */
const pricedPerUnit = new Set(["/v1/images/generations", "/v1/audio/speech"]);

/**
 * How a request is priced in advance (see `BudgetRequest.pricing`): `upload` is a body the
 * edge streams unread, `json` the parsed body of any other.
 */
export function pricingOf(path: string, upload: boolean, json: unknown): BudgetRequest["pricing"] {
  if (upload) return { by: "default" };
  const model = typeof json === "object" && json !== null ? (json as { model?: unknown }).model : undefined;
  if (typeof model !== "string" || model === "") return { by: "none" };
  return pricedPerUnit.has(path) ? { by: "default" } : { by: "tokens", model };
}

/** A budget's limit in whole units of its kind: micro-dollars or tokens. */
function limitOf(budget: Budget): number {
  return budget.unit === "usd" ? microsFromUsd(budget.limit) : Math.max(1, Math.round(budget.limit));
}

/** The sheet's prices for the request's model; a client names the model, so only the sheet's own entries count (never `constructor`). */
function priceOf(request: BudgetRequest): { input: number; output: number } | undefined {
  const { pricing, prices } = request;
  if (pricing.by !== "tokens" || !prices || !Object.hasOwn(prices.models, pricing.model)) return undefined;
  return prices.models[pricing.model];
}

function reservationMicros(request: BudgetRequest): number {
  const { pricing, estimate } = request;
  if (pricing.by === "none") return 0;
  const price = priceOf(request);
  if (!price) return request.defaultReservationMicros;
  return tokenMicros(estimate.prompt, price.input) + tokenMicros(Math.max(0, estimate.total - estimate.prompt), price.output);
}

/**
 * What the request cost in micro-dollars: what regional said, else its usage at the sheet's
 * prices, else nothing for an error; null (the reservation stands) when none of that is known.
 */
function spentMicros(request: BudgetRequest, spend: Spend): number | null {
  if (spend.free) return 0;
  const told = spend.costUsd === null ? null : microsFromDecimal(spend.costUsd);
  if (told !== null) return told;
  const price = priceOf(request);
  if (price && spend.usage) return tokenMicros(spend.usage.prompt, price.input) + tokenMicros(spend.usage.completion, price.output);
  return spend.failed ? 0 : null;
}
