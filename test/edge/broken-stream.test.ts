import { describe, expect, it } from "vitest";
import { endingInErrorEvent } from "../../edge/origins/broken-stream.ts";

const encoder = new TextEncoder();

/** An SSE response whose body delivers these pieces, then fails when `fails` is set. */
function streamOf(pieces: string[], fails: boolean, type = "text/event-stream"): Response {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[next++];
      if (piece !== undefined) return controller.enqueue(encoder.encode(piece));
      if (fails) controller.error(new Error("Network connection lost."));
      else controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": type } });
}

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const ids = (requestId: string) => ({ requestId, traceId });

const errorEvent = (requestId: string) =>
  `data: ${JSON.stringify({ error: { message: "The regional origin failed mid-stream.", type: "upstream_error", code: "upstream_error", param: null, request_id: requestId, trace_id: traceId } })}\n\n`;

describe("an SSE answer whose origin fails mid-stream", () => {
  it("passes a whole stream on unchanged, however its events are cut into reads", async () => {
    const pieces = ["data: one\n", "\ndata: tw", "o\r\n\r", "\ndata: [DONE]\n\n"];
    const res = endingInErrorEvent(streamOf(pieces, false), ids("req-1"));

    expect(await res.text()).toBe(pieces.join(""));
  });

  it("ends with the error event after the last whole event, dropping the half event before the failure", async () => {
    const res = endingInErrorEvent(streamOf(["data: one\r\r", "data: half of t"], true), ids("req-2"));

    expect(await res.text()).toBe(`data: one\r\r${errorEvent("req-2")}`);
  });

  it("keeps the status and headers", async () => {
    const upstream = streamOf([], true);
    upstream.headers.set("x-breakwater-provider", "fake");

    const res = endingInErrorEvent(upstream, ids("req-3"));

    expect(res.status).toBe(200);
    expect(res.headers.get("x-breakwater-provider")).toBe("fake");
    expect(await res.text()).toBe(errorEvent("req-3"));
  });

  it("leaves answers that are not event streams alone", async () => {
    const upstream = streamOf(['{"ok":'], true, "application/json");

    expect(endingInErrorEvent(upstream, ids("req-4"))).toBe(upstream);
  });

  it("cancels the origin's stream when the client cancels", async () => {
    let cancelled: unknown;
    const upstream = new Response(
      new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(encoder.encode("data: tick\n\n")),
        cancel: (reason) => void (cancelled = reason ?? "cancelled"),
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
    const reader = endingInErrorEvent(upstream, ids("req-5")).body!.getReader();
    await reader.read();

    await reader.cancel("client left");

    expect(cancelled).toBe("client left");
  });
});
