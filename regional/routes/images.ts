import { Hono } from "hono";
import { forwardedJsonRequest } from "../../shared/contract/forwarded.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { forwardWhole, withModel } from "./forwarded.ts";

/** `POST /v1/images/generations`, on image models. */
export function imagesRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/images/generations", async (c) => {
    const request = await readJson(c, forwardedJsonRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    return await forwardWhole(c, deps, {
      model: request.model,
      kind: "images",
      forwarding: { endpoint: "images", bodyFor: withModel(request), accept: "application/json" },
    });
  });
}
