import { z } from "zod";

/**
 * A spend budget as the edge enforces it: one per scope and period, over fixed calendar
 * windows (a day or a month in `timeZone`). Regional stores them and hands them out in key
 * records, the key's own and its tenant's together.
 */
export const budget = z.object({
  id: z.string().min(1),
  scope: z.enum(["key", "tenant"]),
  period: z.enum(["day", "month"]),
  unit: z.enum(["usd", "tokens"]),
  /** USD (a decimal number) for `usd`, tokens for `tokens`. */
  limit: z.number().positive(),
  /** The fraction of the limit (0 < x < 1) past which answers carry a warning; null for none. */
  softThreshold: z.number().gt(0).lt(1).nullable(),
  /** An IANA time zone name; the windows start at midnight there. */
  timeZone: z.string().min(1).default("UTC"),
});

/**
 * `GET /internal/prices`: per model the highest input and output price (USD per 1,000,000
 * tokens) of any provider that can serve it, so the edge can reserve money before it knows
 * which provider will answer.
 */
export const priceSheet = z.object({
  models: z.record(z.string(), z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() })),
});

export type Budget = z.infer<typeof budget>;
export type BudgetScope = Budget["scope"];
export type BudgetPeriod = Budget["period"];
export type BudgetUnit = Budget["unit"];
export type PriceSheet = z.infer<typeof priceSheet>;

/**
 * What a request cost in USD (a decimal string such as `0.000123`), on regional's answers
 * when it is known as the headers go out; absent means unknown.
 */
export const costHeader = "x-breakwater-cost-usd";

/**
 * A stream's cost comes at its end instead, as the SSE comment `: x-breakwater-cost-usd=<decimal>`
 * right before `data: [DONE]` (or as the last thing of a Responses stream); the edge strips it.
 */
export const costCommentPrefix = `: ${costHeader}=`;

/**
 * Sent by the edge (vouched: signed like the identity) on the call whose reservation took a
 * budget window past its soft threshold: a JSON array of `budgetCrossing`.
 */
export const budgetCrossedHeader = "x-breakwater-budget-crossed";

export const budgetCrossing = z.object({
  budgetId: z.string().min(1),
  scope: z.enum(["key", "tenant"]),
  period: z.enum(["day", "month"]),
  /** The window's start, ISO 8601. */
  window: z.iso.datetime({ offset: true }),
  used: z.number().nonnegative(),
  limit: z.number().positive(),
});

export type BudgetCrossing = z.infer<typeof budgetCrossing>;
