import { Hono } from "hono";
import { embeddingsRequest } from "../../shared/contract/embeddings.ts";
import type { AppDeps } from "../app.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";

export function embeddingsRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/embeddings", async (c) => {
    const request = await readJson(c, embeddingsRequest, deps.limits.maxBodyBytes);
    const { provider, model } = deps.registry.resolve(request.model, "embeddings");
    const result = await provider.embeddings({ ...request, model }, { signal: c.req.raw.signal, requestId: c.get("requestId") });
    return c.json({ ...result, model: `${provider.name}/${result.model || model}` }, 200, {
      "x-breakwater-provider": provider.name,
      "x-breakwater-attempts": "1",
    });
  });
}
