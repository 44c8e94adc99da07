import type { MiddlewareHandler } from "hono";
import { openResponseCache } from "../cache/response-cache.ts";
import type { AppEnv } from "../context.ts";
import { isJsonContentType } from "./read-body.ts";

/**
 * Opens the request's part in the response cache (`edge/cache/response-cache.ts`) before
 * the rate limiter, so its lookup runs while the limiter's Durable Object answers, and
 * closes it when the request is done: a request the limiter refuses never reaches `cache`.
 */
export const cacheLookup = (): MiddlewareHandler<AppEnv> =>
  async function cacheLookup(c, next) {
    const cache = await openResponseCache(
      {
        method: c.req.method,
        path: c.req.path,
        url: c.req.url,
        headers: c.req.raw.headers,
        tenantId: c.get("key").tenant_id,
        // Only a JSON body (depth-checked) is ever parsed for a key; any other makes a JSON rule bypass.
        body: isJsonContentType(c.req.header("content-type")) ? c.get("body") : null,
      },
      c.get("requestContext"),
    );
    c.set("cache", cache);
    try {
      await next();
    } finally {
      cache.close();
    }
  };

/**
 * In front of forward: answers from the cache when it can, else lets the request through
 * and hands the origin's answer (or failure) to the cache for what the client gets.
 */
export const cache = (): MiddlewareHandler<AppEnv> =>
  async function cache(c, next) {
    const responseCache = c.get("cache");
    if (!responseCache) throw new Error("cache() runs after cacheLookup()");
    const hit = await responseCache.answer();
    if (hit) {
      c.set("cacheServed", true);
      return hit;
    }
    // Hono turns a failure further on into c.res (onError) and keeps the error in c.error.
    await next();
    const { response, fromCache } = await responseCache.forwarded(c.res, c.error);
    if (fromCache) c.set("cacheServed", true);
    if (response === c.res) return;
    // Unset first: Hono would otherwise copy the replaced answer's headers (an error's Retry-After...) onto this one.
    c.res = undefined;
    c.res = response;
  };
