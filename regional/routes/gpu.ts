import { Hono } from "hono";
import { createGpuInstanceRequest, gpuOfferQuery, type GpuInstanceList } from "../../shared/contract/gpu.ts";
import { parseOrThrow } from "../../shared/validation.ts";
import { z } from "zod";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { parseIdempotencyKey, requestHash } from "../gpu/idempotency.ts";
import type { GpuService } from "../gpu/service.ts";

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) });

/** The GPU compute API: offers across Vast.ai and io.net, and instances rented from them. */
export function gpuRoute(gpu: GpuService, limits: { maxBodyBytes: number }): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/gpu/offers", async (c) => {
      const query = parseOrThrow(gpuOfferQuery, c.req.query());
      const offers = await gpu.offers(query, c.get("requestId"), c.req.raw.signal);
      // Offers change by the minute; a few seconds of caching (the edge caches per tenant) spares the marketplaces.
      return c.json(offers, 200, { "cache-control": "private, max-age=5" });
    })
    .post("/gpu/instances", async (c) => {
      const key = parseIdempotencyKey(c.req.header("idempotency-key"));
      const request = await readJson(c, createGpuInstanceRequest, limits.maxBodyBytes);
      const hash = requestHash("POST", "/v1/gpu/instances", request);
      const { response, replayed } = await gpu.create(c.get("auth").tenantId, key, hash, request, c.get("requestId"));
      const headers: Record<string, string> = { ...response.headers, "content-type": "application/json" };
      if (replayed) headers["idempotent-replayed"] = "true";
      return c.body(JSON.stringify(response.body), response.status as 201, headers);
    })
    .get("/gpu/instances", async (c) => {
      const { limit } = parseOrThrow(listQuery, c.req.query());
      return c.json({ object: "list", data: await gpu.list(c.get("auth").tenantId, limit) } satisfies GpuInstanceList);
    })
    .get("/gpu/instances/:id", async (c) => c.json(await gpu.get(c.get("auth").tenantId, c.req.param("id"), c.get("requestId"))))
    .delete("/gpu/instances/:id", async (c) => {
      const { instance, provider } = await gpu.remove(c.get("auth").tenantId, c.req.param("id"), c.get("requestId"));
      return c.json(instance, 200, provider ? { "x-breakwater-provider": provider } : {});
    });
}
