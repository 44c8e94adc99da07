import type { Budget, BudgetCrossing } from "../../shared/contract/budgets.ts";
import { GatewayError } from "../../shared/error.ts";
import type { BudgetLevel } from "../durable-objects/rate-limiter.ts";
import { usdFromMicros } from "./money.ts";

/** On answers while a budget window is at or past its soft threshold: `key-day; used=0.83; resets=2026-05-02T00:00:00.000Z`. */
export const budgetWarningHeader = "x-breakwater-budget-warning";
/** On a 429 `budget_exceeded`: when the spent window resets (ISO 8601). */
export const budgetResetHeader = "x-breakwater-budget-reset";

/** The warning for every window at or past its soft threshold, comma separated; null when none is. */
export function budgetWarning(budgets: Budget[], levels: BudgetLevel[]): string | null {
  const warnings = joined(budgets, levels)
    .filter(({ level }) => level.warn)
    .map(
      ({ budget, level }) =>
        `${budget.scope}-${budget.period}; used=${(level.used / level.limit).toFixed(2)}; resets=${iso(level.resetAt)}`,
    );
  return warnings.length > 0 ? warnings.join(", ") : null;
}

/**
 * The `x-breakwater-budget-crossed` value (`shared/contract/budgets.ts`) for the windows this
 * request was the first to find at or past their soft threshold, `used` and `limit` in the
 * budget's unit (USD or tokens); null when it crossed none.
 */
export function budgetCrossings(budgets: Budget[], levels: BudgetLevel[]): string | null {
  const crossings: BudgetCrossing[] = joined(budgets, levels)
    .filter(({ level }) => level.crossed)
    .map(({ budget, level }) => ({
      budgetId: budget.id,
      scope: budget.scope,
      period: budget.period,
      window: iso(level.start),
      used: budget.unit === "usd" ? usdFromMicros(level.used) : level.used,
      limit: budget.limit,
    }));
  // Header values are bytes: anything beyond ASCII (in an id) goes as a JSON escape.
  return crossings.length > 0
    ? JSON.stringify(crossings).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : null;
}

/**
 * The 429 for a request a spent window refused: `Retry-After` and `x-breakwater-budget-reset`
 * until the last of the spent windows resets (the request cannot run before), the message
 * naming its scope and period.
 */
export function budgetExceeded(budgets: Budget[], levels: BudgetLevel[], now: number): GatewayError {
  const spent = joined(budgets, levels).filter(({ level }) => !level.allowed);
  if (spent.length === 0) return new GatewayError("budget_exceeded");
  const last = spent.reduce((latest, entry) => (entry.level.resetAt > latest.level.resetAt ? entry : latest));
  const resets = iso(last.level.resetAt);
  const period = last.budget.period === "day" ? "daily" : "monthly";
  return new GatewayError("budget_exceeded", {
    message: `The ${last.budget.scope}'s ${period} budget is spent; it resets at ${resets}.`,
    retryAfterS: Math.max(1, Math.ceil((last.level.resetAt - now) / 1000)),
    headers: { [budgetResetHeader]: resets },
  });
}

function joined(budgets: Budget[], levels: BudgetLevel[]): { budget: Budget; level: BudgetLevel }[] {
  const byId = new Map(budgets.map((budget) => [budget.id, budget]));
  return levels.flatMap((level) => {
    const budget = byId.get(level.budget);
    return budget ? [{ budget, level }] : [];
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
