import { sleep as wait } from "../../../shared/resilience/deadline.ts";
import { bodyTerminated, whenAborted } from "./connection.ts";
import type { Fault } from "./faults.ts";
import type { StreamFrames } from "./wires/mock-wire.ts";

const stall = Symbol("stall");
const broken = Symbol("break");
type Step = string | Uint8Array | typeof stall | typeof broken;

/** The frames a stream sends under a fault, in order; it stops at a stall or a break. */
export function streamSteps(frames: StreamFrames, malformedEvent: string, fault: Fault): Step[] {
  const cut = Math.min(fault.stallAfter ?? Infinity, fault.breakAfter ?? Infinity);
  const content = frames.content.slice(0, cut);
  if (fault.malformedChunk) content.splice(Math.min(1, content.length), 0, malformedEvent);
  if (cut !== Infinity) return [...frames.head, ...content, cut === fault.stallAfter ? stall : broken];
  return [...frames.head, ...content, ...frames.tail, ...(fault.noDone ? [] : [frames.end])];
}

/** A binary body's pieces under the same faults: cut after `stall-after` or `break-after` pieces. */
export function pieceSteps(pieces: Uint8Array[], fault: Fault): Step[] {
  const cut = Math.min(fault.stallAfter ?? Infinity, fault.breakAfter ?? Infinity);
  if (cut === Infinity) return pieces;
  return [...pieces.slice(0, cut), cut === fault.stallAfter ? stall : broken];
}

/**
 * An SSE body (or a binary one, from `pieceSteps`) that sends one step per read. A stall holds the stream open until the caller
 * aborts or cancels it. A break drops the connection through `drop` when the transport has
 * one (a real socket), else errors the body as a connection lost mid-body does.
 */
export function sseBody(steps: Step[], firstDelayMs: number, signal: AbortSignal, drop?: () => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const cancelled = new AbortController();
  const over = AbortSignal.any([signal, cancelled.signal]);
  let next = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (next === 0) await wait(firstDelayMs, over);
          const step = steps[next++];
          if (step === undefined) controller.close();
          else if (step === stall) await whenAborted(over);
          else if (step !== broken) controller.enqueue(typeof step === "string" ? encoder.encode(step) : step);
          else {
            // On a real socket, what was sent goes out first (Node flushes writes a tick later).
            await new Promise((resolve) => setImmediate(resolve));
            if (!drop) return controller.error(bodyTerminated());
            drop();
            await whenAborted(over);
          }
        } catch (error) {
          controller.error(error);
        }
      },
      cancel() {
        cancelled.abort();
      },
    },
    { highWaterMark: 0 },
  );
}
