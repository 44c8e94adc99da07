import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { abortableReads } from "../../shared/resilience/abortable-reads.ts";
import { AttemptTimeout, openAttemptScope } from "../../shared/resilience/deadline.ts";

/** A stream's idle deadline (one timer however many chunks) and its reads that end when the attempt is aborted. */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the idle deadline of a stream", () => {
  it("keeps the attempt while chunks keep coming, however long the stream runs", () => {
    const scope = openAttemptScope(new AbortController().signal);
    const touch = scope.idle(1_000, "went silent");
    for (let chunk = 0; chunk < 20; chunk++) {
      vi.advanceTimersByTime(900);
      touch();
    }
    expect(scope.signal.aborted).toBe(false);
    scope.close();
  });

  it("aborts the attempt once the stream has been silent for the whole gap, not before", () => {
    const scope = openAttemptScope(new AbortController().signal);
    const touch = scope.idle(1_000, "went silent for 1000 ms");
    vi.advanceTimersByTime(600);
    touch();
    vi.advanceTimersByTime(999);
    expect(scope.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBeInstanceOf(AttemptTimeout);
    expect((scope.signal.reason as AttemptTimeout).message).toBe("went silent for 1000 ms");
  });

  it("fires no more once the attempt is closed", () => {
    const scope = openAttemptScope(new AbortController().signal);
    scope.idle(1_000, "went silent");
    scope.close();
    vi.advanceTimersByTime(5_000);
    expect(scope.signal.aborted).toBe(false);
  });
});

describe("abortable reads", () => {
  it("passes the reads through, and rejects a pending one with the abort's reason", async () => {
    const controller = new AbortController();
    let release: (() => void) | undefined;
    async function* chunks() {
      yield "first";
      await new Promise<void>((resolve) => (release = resolve));
      yield "never read";
    }
    const reads = abortableReads(chunks(), controller.signal);
    await expect(reads.next()).resolves.toEqual({ done: false, value: "first" });
    const pending = reads.next();
    controller.abort(new Error("client left"));
    await expect(pending).rejects.toThrow("client left");
    await expect(reads.next()).rejects.toThrow("client left");
    reads.release();
    release?.();
  });
});
