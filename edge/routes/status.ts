import type { Context, Handler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import { renderOperatorPage } from "../../shared/status/operator-page.ts";
import { statusPageHeaders } from "../../shared/status/page.ts";
import { renderPublicPage } from "../../shared/status/public-page.ts";
import type { OperatorStatus } from "../../shared/status/types.ts";
import { withComponents } from "../../shared/status/with-components.ts";
import type { AppEnv } from "../context.ts";
import { cacheCounts } from "../metrics/cache-counts.ts";
import { breakerViews } from "../origins/breakers.ts";
import { cacheTable } from "../status/cache-table.ts";
import { originBreakerTable, originComponents } from "../status/origin-components.ts";
import { edgePublicStatus, statusTtlMs, type PublicStatusContext } from "../status/public-status.ts";
import { regionalOperatorStatus } from "../status/regional-status.ts";

/** Browsers and tools may keep the public view as long as the edge does: it changes no faster. */
const publicCacheControl = `public, max-age=${Math.floor(statusTtlMs / 1000)}`;

function statusContext(c: Context<AppEnv>): PublicStatusContext {
  const { settings, breakers, trace, requestId, traceId, waitUntil } = c.get("requestContext");
  const { signingSecret, origins, originTimeoutMs } = settings;
  return { signingSecret, origins, originTimeoutMs, breakers, trace, requestId, traceId, waitUntil };
}

/** `GET /status`: the public status page (routes, providers, the edge's origins, the day's incidents), 200 even when regional is down. */
export const statusPage = (): Handler<AppEnv> =>
  async function statusPage(c) {
    const status = await edgePublicStatus(statusContext(c));
    return c.body(renderPublicPage(status), 200, { ...statusPageHeaders, "cache-control": publicCacheControl });
  };

/** `GET /status.json`: the public page's JSON twin, for tools. */
export const statusJson = (): Handler<AppEnv> =>
  async function statusJson(c) {
    return c.json(await edgePublicStatus(statusContext(c)), 200, { "cache-control": publicCacheControl });
  };

/**
 * `GET /status/operator` (behind METRICS_API_KEY): regional's operator status with the edge's
 * origins among the components, and the edge's response cache by level and origin breakers as
 * tables of their own. Read fresh: operators are few. Without regional's part there is no page
 * to show (503); the public page still shows the edge's own view.
 */
export const operatorStatusPage = (): Handler<AppEnv> =>
  async function operatorStatusPage(c) {
    const context = statusContext(c);
    const counting = cacheCounts(c.env.METRICS_AGGREGATOR);
    let regional: OperatorStatus;
    try {
      regional = await regionalOperatorStatus(context);
    } catch (error) {
      throw new GatewayError("unavailable", {
        message: "Regional's operator status cannot be read right now.",
        retryAfterS: 5,
        cause: error,
      });
    }
    const [cache, views] = await Promise.all([counting, breakerViews(context.breakers, context.origins)]);
    const status = { ...regional, public: withComponents(regional.public, originComponents(context.origins, views, true, Date.now())) };
    const extra = [cacheTable(cache), originBreakerTable(context.origins, views)];
    return c.body(renderOperatorPage(status, { extra }), 200, { ...statusPageHeaders, "cache-control": "no-store" });
  };
