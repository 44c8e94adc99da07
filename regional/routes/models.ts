import { Hono } from "hono";
import type { ModelList } from "../../shared/contract/models.ts";
import { GatewayError } from "../../shared/error.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";

export function modelsRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/models", (c) => c.json({ object: "list", data: deps.router.planner.models() } satisfies ModelList))
    .get("/models/:id{.+}", (c) => {
      const model = deps.router.planner.models().find((candidate) => candidate.id === c.req.param("id"));
      if (!model)
        throw new GatewayError("model_not_found", { message: `The model '${c.req.param("id")}' does not exist.`, param: "model" });
      return c.json(model);
    });
}
