import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { watchStreamEnd } from "../../shared/http/stream-end.ts";
import type { AppEnv, OnResponseEnd, ResponseEnd } from "./context.ts";

const isEventStream = (response: Response) => response.headers.get("content-type")?.startsWith("text/event-stream") === true;

/**
 * Tells the middleware after it when the answer ends: an SSE answer when its stream does (read
 * to the end, failed, or cancelled by a client that left), any other when the handler returned.
 * One wrapper of the body, however many listen (access log, metrics, the request's span); a
 * listener registers with `c.get("onResponseEnd")` once its own `next()` returned.
 */
export const responseEnd = (): MiddlewareHandler<AppEnv> =>
  async function responseEnd(c, next) {
    const listeners: OnResponseEnd[] = [];
    let told = false;
    const notify = (end: ResponseEnd) => {
      if (told) return;
      told = true;
      for (const listener of listeners) listener(end);
    };
    let reported = false;
    c.set("onResponseEnd", (listener) => listeners.push(listener));
    c.set("reportStreamEnd", () => {
      reported = true;
      return notify;
    });
    await next();
    if (listeners.length === 0) return;
    const stream = isEventStream(c.res);
    // The route tells its stream's end itself: one stream layer less between the provider and the client.
    if (stream && reported) return;
    // Only a stream's body is touched: reading `body` of any other answer would cost the server its fast path.
    const body = stream ? c.res.body : null;
    if (body) c.res = new Response(watchStreamEnd(body, notify), c.res);
    else notify("done");
  };

/** The route template that answered (`/v1/gpu/instances/:id`), never the raw path; undefined when no route did. */
export function routeOf(c: Context<AppEnv>): string | undefined {
  const routes = matchedRoutes(c);
  // Middleware (`use`) matches as ALL; the last route with a method is the handler's.
  for (let index = routes.length - 1; index >= 0; index--) {
    const route = routes[index];
    if (route && route.method !== "ALL") return route.path;
  }
  return undefined;
}
