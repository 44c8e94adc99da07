import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { budgetCrossedHeader, budgetCrossing } from "../../shared/contract/budgets.ts";
import { auditActions } from "../audit/event.ts";
import type { AuditLog } from "../audit/writer.ts";
import type { Logger } from "../logger.ts";
import { clientAddress } from "./client-ip.ts";
import type { AppEnv } from "./context.ts";

// A key has at most four budgets (its own and its tenant's, per day and per month).
const crossings = z.array(budgetCrossing).max(16);

function parsed(text: string): z.infer<typeof crossings> | undefined {
  try {
    const result = crossings.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For routes behind `edgeSignature` only (it has verified every `x-breakwater-*` header):
 * the edge names, in `x-breakwater-budget-crossed`, the budget windows this request took past
 * their soft threshold, and each becomes one `budget.threshold_crossed` audit event of the
 * key. A value that does not parse is the edge's bug, not the client's: it is logged and the
 * request goes on.
 */
export const budgetCrossings = (audit: AuditLog, logger: Logger): MiddlewareHandler<AppEnv> =>
  async function budgetCrossings(c, next) {
    const header = c.req.header(budgetCrossedHeader);
    if (header !== undefined) {
      const entries = parsed(header);
      const auth = c.get("auth");
      if (!entries) logger.error("the edge sent a budget crossing that does not parse; no audit event written", { bytes: header.length });
      for (const entry of entries ?? []) {
        audit.append({
          actorType: "key",
          actorId: auth.keyId,
          action: auditActions.budgetThresholdCrossed,
          resource: `budget:${entry.budgetId}`,
          result: "success",
          tenantId: auth.tenantId,
          ip: clientAddress(c).client,
          requestId: c.get("requestId"),
          metadata: { key_id: auth.keyId, ...entry },
        });
      }
    }
    await next();
  };
