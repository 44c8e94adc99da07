import type { Usage } from "../../shared/contract/chat.ts";
import { add, moneyOf, multiply, zero, type Money } from "./money.ts";
import type { PriceBook, UnitPrices } from "./prices.ts";

/**
 * What an answer reported using, in the units prices are given in. A field is absent when
 * the answer did not say; `inputTokens` includes `cachedInputTokens`, as OpenAI counts them.
 */
export interface Consumption {
  inputTokens?: number;
  cachedInputTokens?: number;
  outputTokens?: number;
  images?: number;
  seconds?: number;
}

/** One serving target's part of an answer: a stream continued elsewhere has one part per target. */
export interface Billed {
  provider: string;
  /** The provider's own model name, as its prices are listed. */
  model: string;
  used: Consumption;
}

const quantity = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

const objectOf = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** Token usage in chat's names or the Responses API's; empty when the answer reported none. */
export function consumptionOf(usage: Partial<Usage> | Record<string, unknown> | null | undefined): Consumption {
  const fields = objectOf(usage);
  if (!fields) return {};
  const details = objectOf(fields.prompt_tokens_details) ?? objectOf(fields.input_tokens_details);
  const used: Consumption = {};
  const input = quantity(fields.prompt_tokens) ?? quantity(fields.input_tokens);
  const output = quantity(fields.completion_tokens) ?? quantity(fields.output_tokens);
  const cached = quantity(details?.cached_tokens);
  if (input !== undefined) used.inputTokens = input;
  if (output !== undefined) used.outputTokens = output;
  if (cached !== undefined) used.cachedInputTokens = cached;
  return used;
}

/**
 * What a forwarded JSON answer reports: its tokens (`usage` in either naming), or, where it
 * counts none, the images it made or the seconds of audio it transcribed (`usage.seconds`
 * of a duration usage, else `duration`).
 */
export function answerConsumption(kind: string, body: unknown): Consumption {
  const answer = objectOf(body);
  const usage = objectOf(answer?.usage);
  if (usage?.type === "duration") {
    const seconds = quantity(usage.seconds);
    return seconds === undefined ? {} : { seconds };
  }
  const tokens = consumptionOf(usage);
  if (Object.keys(tokens).length > 0) return tokens;
  if (kind === "images" && Array.isArray(answer?.data)) return { images: answer.data.length };
  const duration = kind === "transcription" ? quantity(answer?.duration) : undefined;
  return duration === undefined ? {} : { seconds: duration };
}

const times = (count: number, price: Money): Money => multiply(moneyOf(count), price);

/** One part's cost; null when the answer reported nothing or something its prices do not cover. */
function partCost(price: UnitPrices, used: Consumption): Money | null {
  if (Object.keys(used).length === 0) return null;
  if ((used.images !== undefined && !price.image) || (used.seconds !== undefined && !price.second)) return null;
  const input = used.inputTokens ?? 0;
  const cached = Math.min(used.cachedInputTokens ?? 0, input);
  let cost = add(times(input - cached, price.inputToken), times(cached, price.cachedInputToken));
  cost = add(cost, times(used.outputTokens ?? 0, price.outputToken));
  if (used.images !== undefined && price.image) cost = add(cost, times(used.images, price.image));
  if (used.seconds !== undefined && price.second) cost = add(cost, times(used.seconds, price.second));
  return cost;
}

/**
 * What the providers that served an answer charge for the usage they reported, exactly; null
 * (unknown, not free) when any part's price or usage is not known.
 */
export function costOf(prices: PriceBook | undefined, billed: readonly Billed[]): Money | null {
  if (!prices || billed.length === 0) return null;
  let total = zero;
  for (const part of billed) {
    const price = prices.of(part.provider, part.model);
    const cost = price && partCost(price, part.used);
    if (!cost) return null;
    total = add(total, cost);
  }
  return total;
}
