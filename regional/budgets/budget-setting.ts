import { z } from "zod";
import type { BudgetSetting } from "./budget-store.ts";

const fields: readonly string[] = ["unit", "limit", "softThreshold", "timeZone"];
// Far above any real plan: a slipped digit is refused, not applied.
const maxLimit = 1_000_000_000_000;

/**
 * An IANA time zone name as the runtime's `Intl` knows it, in its canonical spelling
 * (`europe/berlin` → `Europe/Berlin`), so the edge's runtime reads the same zone; undefined
 * for anything else. Offsets (`+01:00`) are no IANA names, whatever a runtime accepts.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (!/^[A-Za-z]/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The body of `PUT .../budgets/:period`: `{ unit, limit, softThreshold?, timeZone? }`. */
export const budgetSettingBody = z
  .looseObject({
    unit: z.enum(["usd", "tokens"]),
    limit: z.number().positive().max(maxLimit),
    softThreshold: z.number().gt(0).lt(1).nullable().optional(),
    timeZone: z.string().max(100).optional(),
  })
  // Checked here rather than by strictObject, whose error names no field.
  .superRefine((body, ctx) => {
    for (const key of Object.keys(body)) {
      if (!fields.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: `unknown field; a budget has ${fields.join(", ")}` });
    }
    if (body.unit === "tokens" && !Number.isInteger(body.limit))
      ctx.addIssue({ code: "custom", path: ["limit"], message: "a budget in tokens is a whole number of tokens" });
    if (body.timeZone !== undefined && canonicalTimeZone(body.timeZone) === undefined)
      ctx.addIssue({ code: "custom", path: ["timeZone"], message: "not an IANA time zone name (such as UTC or Europe/Berlin)" });
  })
  .transform((body): BudgetSetting => ({
    unit: body.unit,
    limit: body.limit,
    softThreshold: body.softThreshold ?? null,
    timeZone: canonicalTimeZone(body.timeZone ?? "UTC") ?? "UTC",
  }));

export const budgetPeriod = z.enum(["day", "month"], { error: "must be day or month" });
