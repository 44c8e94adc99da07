import type { MiddlewareHandler } from "hono";
import { requestIdFrom } from "../../shared/request-id.ts";
import type { AppEnv } from "../context.ts";

/**
 * Gives every request an id: the client's `x-request-id` when it is valid, else a new
 * one. Handlers read it with `c.get("requestId")`; every response carries it back.
 */
export const requestId = (): MiddlewareHandler<AppEnv> =>
  async function requestId(c, next) {
    const id = requestIdFrom(c.req.header("x-request-id"));
    c.set("requestId", id);
    await next();
    c.header("x-request-id", id);
  };
