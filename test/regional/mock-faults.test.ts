import { describe, expect, it } from "vitest";
import { createFaultCounter, FaultSpecError, noFault, parseFault } from "../../regional/providers/mock/faults.ts";

describe("mock fault specs", () => {
  it("reads each item, alone and combined", () => {
    expect(parseFault("status=503")).toEqual({ ...noFault, status: 503 });
    expect(parseFault("status=429; retry-after=2")).toEqual({ ...noFault, status: 429, retryAfterS: 2 });
    expect(parseFault("latency=150,reset")).toEqual({ ...noFault, latencyMs: 150, reset: true });
    expect(parseFault("first-token-delay=500;stall-after=2;break-after=3")).toEqual({
      ...noFault,
      firstTokenDelayMs: 500,
      stallAfter: 2,
      breakAfter: 3,
    });
    expect(parseFault("malformed-chunk;no-done")).toEqual({ ...noFault, malformedChunk: true, noDone: true });
    expect(parseFault("context-length;times=2")).toEqual({ ...noFault, contextLength: true, times: 2 });
    expect(parseFault("CONTENT-POLICY")).toEqual({ ...noFault, contentPolicy: true });
  });

  it("reads an empty spec and 'none' as no fault", () => {
    expect(parseFault("")).toEqual(noFault);
    expect(parseFault(" none ")).toEqual(noFault);
  });

  it("makes a bare retry-after a 429", () => {
    expect(parseFault("retry-after=5")).toEqual({ ...noFault, status: 429, retryAfterS: 5 });
  });

  it.each([
    ["stauts=503", /unknown mock fault 'stauts'/],
    ["status=200", /'status' needs a whole number from 400 to 599/],
    ["status", /'status' needs a whole number/],
    ["latency=-5", /'latency' needs a whole number/],
    ["latency=1.5", /'latency' needs a whole number/],
    ["reset=1", /'reset' takes no value/],
    ["times=0", /'times' needs a whole number from 1/],
  ])("refuses %j, naming the item", (spec, message) => {
    expect(() => parseFault(spec)).toThrow(FaultSpecError);
    expect(() => parseFault(spec)).toThrow(message);
  });

  it("faults only the first N calls per model and spec with times=N", () => {
    const counter = createFaultCounter();
    const fault = parseFault("status=503;times=2");
    const echo = [1, 2, 3].map(() => counter.applies("echo", "status=503;times=2", fault));
    expect(echo).toEqual([true, true, false]);
    expect(counter.applies("embed", "status=503;times=2", fault)).toBe(true);
    expect(counter.applies("echo", "status=503", parseFault("status=503"))).toBe(true);
  });

  it("remembers at most 1,000 specs, forgetting the one used longest ago", () => {
    const counter = createFaultCounter();
    const once = (spec: string) => counter.applies("echo", spec, parseFault(spec));
    expect([once("status=503;times=1"), once("status=503;times=1")]).toEqual([true, false]);
    expect([once("status=502;times=1"), once("status=502;times=1")]).toEqual([true, false]);
    // 998 more specs fill the memory; touching 503 again keeps it the most recent.
    for (let latency = 1; latency <= 998; latency++) once(`latency=${latency};times=1`);
    expect(once("status=503;times=1")).toBe(false);
    once("latency=999;times=1");
    // 502 was used longest ago and is forgotten: it faults afresh. 503 is still counted.
    expect(once("status=502;times=1")).toBe(true);
    expect(once("status=503;times=1")).toBe(false);
  });
});
