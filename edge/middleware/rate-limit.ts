import type { MiddlewareHandler } from "hono";
import { GatewayError, errorResponse } from "../../shared/error.ts";
import type { AppEnv } from "../context.ts";
import { budgetCrossings, budgetExceeded, budgetWarning, budgetWarningHeader } from "../limits/budget-headers.ts";
import { planBudgets, pricingOf, type Spend } from "../limits/budgets.ts";
import { reserve } from "../limits/limiter.ts";
import { currentPrices } from "../limits/prices.ts";
import { rateLimitHeaders } from "../limits/rate-limit-headers.ts";
import { meterUsage } from "../limits/usage-meter.ts";
import { errorText, log } from "../log.ts";
import { costHeader } from "../../shared/contract/budgets.ts";
import type { KeyRecord } from "../../shared/contract/keys.ts";
import { checkCompletionTokens, estimateTokens, opaqueBodyEstimate } from "../../shared/token-estimate.ts";
import { parseJsonBytes } from "../../shared/read-body.ts";
import { isJsonContentType } from "./read-body.ts";

/**
 * Holds the request against its key's and tenant's requests- and tokens-per-minute limits
 * (tokens as estimated from the body; a chat request's completion tokens in full, within
 * `completionLimits`, 400 naming `max_tokens` beyond) and their spend budgets (see
 * `planBudgets`), all in one call to each limiter; answers 429 with Retry-After when any is
 * spent, and once the response has ended — or the client left — replaces the estimates with
 * the usage and cost the response reported. Every response carries `RateLimit-Policy`/`RateLimit`,
 * and `x-breakwater-budget-warning` while a budget is past its soft threshold.
 */
export const rateLimit = (): MiddlewareHandler<AppEnv> =>
  async function rateLimit(c, next) {
    const context = c.get("requestContext");
    const key = c.get("key");
    const body = c.get("body");
    // Only a JSON body is parsed (read-body checked its depth); another (an upload, streamed unread; text) costs a fixed estimate.
    const opaque = c.get("upload") !== null || (body !== null && !isJsonContentType(c.req.header("content-type")));
    const json = opaque ? undefined : parseJsonBytes(body);
    const completion = completionLimits(context.settings.maxTokensCeiling, key);
    const checked = checkCompletionTokens(c.req.path, json, completion.ceiling);
    if (!checked.ok)
      return errorResponse(
        new GatewayError("invalid_request", { message: checked.message, param: checked.param }),
        context.requestId,
        context.traceId,
      );
    const estimate = opaque ? opaqueBodyEstimate : estimateTokens(c.req.path, json, completion.unlimited);

    const budgets =
      key.budgets.length > 0
        ? planBudgets(key.budgets, {
            estimate,
            pricing: pricingOf(c.req.path, opaque, json),
            // Read only when money is at stake: a key without such a budget never waits for prices.
            prices: key.budgets.some((budget) => budget.unit === "usd") ? await currentPrices(context) : null,
            defaultReservationMicros: context.settings.budgetDefaultReservationMicros,
            now: Date.now(),
          })
        : null;

    const reservation = await reserve(context.limiters, key, estimate.total, budgets?.charges);
    const headers = rateLimitHeaders(reservation.quotas, reservation.levels);
    const warning = budgetWarning(key.budgets, reservation.budgets);
    if (warning) headers[budgetWarningHeader] = warning;
    if (reservation.outcome !== "allowed") {
      const error =
        reservation.outcome === "over_budget"
          ? budgetExceeded(key.budgets, reservation.budgets, Date.now())
          : reservation.outcome === "limited"
            ? new GatewayError("rate_limited", {
                message: `Rate limit exceeded (${reservation.policy} limit).`,
                retryAfterS: Math.max(1, Math.ceil(reservation.retryAfterMs / 1000)),
              })
            : new GatewayError("unavailable", { message: "Rate limits cannot be checked right now.", retryAfterS: 1 });
      const response = errorResponse(error, context.requestId, context.traceId);
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      return response;
    }
    const crossed = budgetCrossings(key.budgets, reservation.budgets);
    if (crossed) c.set("budgetCrossed", crossed);

    const dropUsageChunk = askForStreamUsage(c.req.path, json);
    if (dropUsageChunk) c.set("body", new TextEncoder().encode(JSON.stringify(json)));

    // Registered before the call: when the client disconnects, workerd cancels the request and
    // keeps running only waitUntil work — this keeps the call going to its end, so it settles.
    let settleWith: (spend: Promise<Spend>) => void = () => {};
    context.waitUntil(
      new Promise<Promise<Spend>>((resolve) => (settleWith = resolve))
        .then(async (spending) => {
          const spend = await spending;
          await reservation.settle({ tokens: spend.tokens, budgets: budgets?.used(spend) ?? {} });
        })
        .catch((error: unknown) => log("warn", "could not settle usage", context, { error: errorText(error) })),
    );
    try {
      // Hono turns a failure further on into c.res (onError), so this always has a response.
      await next();
    } catch (error) {
      settleWith(Promise.resolve(nothingSpent));
      throw error;
    }

    const metered = meterUsage(c.res, { promptTokens: estimate.prompt, dropUsageChunk });
    const failed = c.res.status >= 400;
    // An answer from the edge's cache cost nothing upstream: the reservation is given back whole.
    const fromCache = c.get("cacheServed") === true;
    // A client gone before the answer never reads its body, so no usage will come from it.
    const clientGone = c.req.raw.signal.aborted;
    settleWith(
      clientGone || fromCache
        ? Promise.resolve(nothingSpent)
        : Promise.all([metered.usage, metered.costUsd]).then(([usage, costUsd]) => ({
            tokens: usage?.total ?? (failed ? 0 : estimate.total),
            usage,
            costUsd,
            free: false,
            failed,
          })),
    );
    c.res = metered.response;
    // A stored answer's cost was paid by the request that stored it.
    if (fromCache) c.res.headers.delete(costHeader);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };

/** What a request that never reached an origin of its own (or was answered from the cache) spent. */
const nothingSpent: Spend = { tokens: 0, usage: null, costUsd: null, free: true, failed: false };

/**
 * No request may ask for more completion tokens than MAX_TOKENS_CEILING, nor than its key or
 * tenant may use in a minute. One that sets no limit is held back as if it asked for the
 * smaller of the ceiling and a quarter of that minute (a quarter leaves room for requests
 * side by side on a small budget). Its body is left alone: the edge does not know each
 * model's own output limit, and a `max_tokens` above it would make the provider refuse the
 * call; what such a request uses beyond its reservation is charged when it ends.
 */
function completionLimits(maxTokensCeiling: number, key: KeyRecord): { ceiling: number; unlimited: number } {
  const perMinute = Math.min(key.limits.tpm, key.tenant_limits.tpm);
  const ceiling = Math.min(maxTokensCeiling, perMinute);
  return { ceiling, unlimited: Math.max(1, Math.min(ceiling, Math.floor(perMinute / 4))) };
}

/**
 * Chat and completions streams report usage only when asked (`stream_options.include_usage`):
 * the edge asks on the client's behalf, and then leaves the usage chunk out of what the client
 * gets. Not `/v1/responses`: that API has no such option (it would be refused) and reports
 * usage in its `response.completed` event anyway. Mutates `json`; true when it did.
 */
const usageOptionPaths = new Set(["/v1/chat/completions", "/v1/completions"]);

function askForStreamUsage(path: string, json: unknown): boolean {
  if (!usageOptionPaths.has(path) || typeof json !== "object" || json === null) return false;
  const request = json as { stream?: unknown; stream_options?: unknown };
  if (request.stream !== true) return false;
  const options =
    typeof request.stream_options === "object" && request.stream_options !== null
      ? (request.stream_options as Record<string, unknown>)
      : {};
  if (options.include_usage === true) return false;
  request.stream_options = { ...options, include_usage: true };
  return true;
}
