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
    // Set before: every answer built with c.json/c.body/c.text takes it along. Set after only
    // when an answer was built otherwise: on Node a header set on a finished answer costs it
    // the server's fast path (@hono/node-server rebuilds it as a streamed Response).
    c.header("x-request-id", id);
    await next();
    if (c.res.headers.get("x-request-id") !== id) c.header("x-request-id", id);
  };
