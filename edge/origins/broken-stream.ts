import { GatewayError } from "../../shared/error.ts";
import { sseData } from "../../shared/sse.ts";
import { errorText, log, type RequestIds } from "../log.ts";

const LF = 0x0a;
const CR = 0x0d;

/**
 * An SSE answer whose origin dies mid-stream (a regional process killed, a connection
 * reset) ends with the error event the regional tier itself sends when a stream fails —
 * `data: {"error":{...}}` and no `[DONE]` — instead of a bare transport error the client
 * cannot tell from its own network. Bytes pass on up to the last complete event, so the
 * error event never lands inside half an event. Other answers are returned as they are.
 */
export function endingInErrorEvent(response: Response, ids: RequestIds): Response {
  if (!response.body || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) return response;
  const reader = response.body.getReader();
  let pending = new Uint8Array(0);
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              if (pending.byteLength > 0) controller.enqueue(pending);
              controller.close();
              return;
            }
            const joined = pending.byteLength === 0 ? value : concat(pending, value);
            const end = completeEventsEnd(joined);
            pending = joined.slice(end);
            if (end > 0) {
              controller.enqueue(end === joined.byteLength ? joined : joined.subarray(0, end));
              return;
            }
          }
        } catch (error) {
          if (cancelled) return;
          log("warn", "origin stream failed", ids, { error: errorText(error) });
          const failed = new GatewayError("upstream_error", { message: "The regional origin failed mid-stream.", cause: error });
          controller.enqueue(sseData(JSON.stringify(failed.toBody(ids.requestId, ids.traceId))));
          controller.close();
        }
      },
      async cancel(reason) {
        // The client left: the origin call ends with it, so regional stops its provider too.
        cancelled = true;
        await reader.cancel(reason).catch(() => {});
      },
    },
    // Pull only when the client reads, so a slow client slows the origin, not the edge's memory.
    { highWaterMark: 0 },
  );
  return new Response(body, response);
}

/**
 * Where the last complete event ends in `bytes` (0: none yet). An event ends with a blank
 * line: two line breaks in a row, each LF, CR or CRLF.
 */
function completeEventsEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 2; i >= 0; i -= 1) {
    const first = bytes[i];
    const second = bytes[i + 1];
    const breaks = (first === LF || first === CR) && (second === LF || second === CR);
    // CR then LF is one line break, not two.
    if (!breaks || (first === CR && second === LF)) continue;
    return second === CR && bytes[i + 2] === LF ? i + 3 : i + 2;
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}
