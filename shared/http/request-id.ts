import type { MiddlewareHandler } from "hono";
import { requestIdFrom } from "../request-id.ts";

/**
 * Gives every request an id — the client's `x-request-id` when it is valid, else a new one —
 * for handlers (`c.get("requestId")`) and logs, and carries it back on every response. One
 * middleware for both tiers: Hono runs the same in workerd and on Node.
 */
export const requestId = <E extends { Variables: { requestId: string } }>(): MiddlewareHandler<E> =>
  async function requestId(c, next) {
    const id = requestIdFrom(c.req.header("x-request-id"));
    c.set("requestId", id);
    await next();
    c.header("x-request-id", id);
  };
