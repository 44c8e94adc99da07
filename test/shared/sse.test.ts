import { describe, expect, it } from "vitest";
import { parseSse, type SseEvent } from "../../shared/sse.ts";

function bodyOf(pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

async function collect(pieces: string[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of parseSse(bodyOf(pieces))) events.push(event);
  return events;
}

describe("parseSse", () => {
  it("parses events split at any byte boundary", async () => {
    const text = 'data: {"a":1}\n\nevent: ping\ndata: x\n\ndata: [DONE]\n\n';
    const whole = await collect([text]);
    expect(whole).toEqual([{ data: '{"a":1}' }, { event: "ping", data: "x" }, { data: "[DONE]" }]);
    for (let cut = 1; cut < text.length; cut++) expect(await collect([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
  });

  it("accepts CRLF and CR line endings, even a CRLF split across reads", async () => {
    expect(await collect(["data: a\r", "\n\r\n", "data: b\r\rdata: c\n\n"])).toEqual([{ data: "a" }, { data: "b" }, { data: "c" }]);
  });

  it("joins multi-line data and skips comments", async () => {
    expect(await collect([": keep-alive\n", "data: one\ndata: two\n\n"])).toEqual([{ data: "one\ntwo" }]);
  });

  it("delivers a last event that lacks its closing blank line", async () => {
    expect(await collect(["data: a\n\ndata: [DONE]"])).toEqual([{ data: "a" }, { data: "[DONE]" }]);
  });

  it("decodes multi-byte characters split across reads", async () => {
    const bytes = new TextEncoder().encode("data: héllo ✓\n\n");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const event of parseSse(body)) events.push(event);
    expect(events).toEqual([{ data: "héllo ✓" }]);
  });

  it("cancels the body when the consumer stops early", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("data: x\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of parseSse(body)) {
      expect(event.data).toBe("x");
      break;
    }
    expect(cancelled).toBe(true);
  });
});
