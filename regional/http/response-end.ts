import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { sseData } from "../../shared/sse.ts";
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
    c.set("onResponseEnd", (listener) => listeners.push(listener));
    await next();
    if (listeners.length === 0) return;
    const notify = (end: ResponseEnd) => {
      for (const listener of listeners) listener(end);
    };
    // Only a stream's body is touched: reading `body` of any other answer would cost the server its fast path.
    const body = isEventStream(c.res) ? c.res.body : null;
    if (body) c.res = new Response(watched(body, notify), c.res);
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

const doneEvent = sseData("[DONE]");

function endsWithDone(chunk: Uint8Array | undefined): boolean {
  if (!chunk || chunk.byteLength < doneEvent.byteLength) return false;
  const offset = chunk.byteLength - doneEvent.byteLength;
  return doneEvent.every((byte, index) => chunk[offset + index] === byte);
}

/**
 * The body as it was, one chunk per read (the client's back-pressure still reaches the
 * upstream), telling `ended` once how it ended. Only the last chunk is looked at: an SSE
 * answer that completed ends with `[DONE]`, one that broke with an error event instead.
 */
function watched(body: ReadableStream<Uint8Array>, ended: OnResponseEnd): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let last: Uint8Array | undefined;
  let told = false;
  const tell = (end: ResponseEnd) => {
    if (!told) ended(end);
    told = true;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (!done) {
            last = value;
            return controller.enqueue(value);
          }
          controller.close();
          tell(endsWithDone(last) ? "done" : "error");
        } catch (error) {
          tell("error");
          controller.error(error);
        }
      },
      async cancel(reason) {
        tell("client_gone");
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
