import { Hono } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppDeps } from "../deps.ts";
import { findKeyRecord } from "../auth/key-records.ts";
import type { AppEnv } from "../http/context.ts";

/** Endpoints only the edge calls, behind the edge signature (see app.ts). */
export function internalRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/keys/:sha256{[0-9a-f]{64}}", async (c) => {
    const record = await findKeyRecord(deps.db, Buffer.from(c.req.param("sha256"), "hex"));
    if (!record) throw new GatewayError("not_found", { message: "No key has this hash." });
    return c.json(record, 200, { "cache-control": "no-store" });
  });
}
