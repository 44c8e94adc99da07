import type { MiddlewareHandler } from "hono";
import { requestIdFrom } from "../../shared/request-id.ts";
import type { AppEnv } from "./context.ts";

/** Gives every request an id (the caller's, when it is a valid one) and echoes it. */
export const requestId = (): MiddlewareHandler<AppEnv> =>
  async function requestId(c, next) {
    const id = requestIdFrom(c.req.header("x-request-id"));
    c.set("requestId", id);
    c.header("x-request-id", id);
    await next();
  };
