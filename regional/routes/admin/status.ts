import { Hono } from "hono";
import { statusPageHeaders } from "../../../shared/status/page.ts";
import { renderOperatorPage } from "../../../shared/status/operator-page.ts";
import type { AppDeps } from "../../deps.ts";
import type { AppEnv } from "../../http/context.ts";
import { buildOperatorStatus } from "../../status/status.ts";

/** `GET /admin/status` (the operator page, for operators reaching regional directly) and `GET /admin/status.json`. */
export function statusRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/status.json", async (c) => c.json(await buildOperatorStatus(deps), 200, { "cache-control": "no-store" }))
    .get("/status", async (c) =>
      c.body(renderOperatorPage(await buildOperatorStatus(deps)), 200, { ...statusPageHeaders, "cache-control": "no-store" }),
    );
}
