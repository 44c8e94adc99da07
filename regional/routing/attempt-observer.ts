import type { Context } from "@opentelemetry/api";
import type { Outcome } from "../../shared/resilience/outcome.ts";
import type { RequestKind } from "../providers/types.ts";

/** One upstream attempt as metrics, traces and logs see it. */
export interface AttemptInfo {
  provider: string;
  model: string;
  kind: RequestKind;
  /** 0 for a target's first attempt, n for its n-th retry. */
  retry: number;
  /** The target's place among those this request tried: 0 the first, more a fallback. */
  fallback: number;
  /** The attempt continues a stream that broke on another target. */
  continuation: boolean;
}

/** How an attempt ended: its outcome class, or `circuit_open` when the breaker refused it without a call. */
export type AttemptResult = Outcome | "circuit_open";

export interface ObservedAttempt {
  /** The attempt's own trace context (its span), for the call out to carry on; unset, the request's serves. */
  trace?: Context;
  end(result: AttemptResult, error?: unknown): void;
}

/** Told of every attempt the router makes; metrics and tracing each implement one. */
export interface AttemptObserver {
  /** `trace`: the request's trace context (or its stream's, for a continuation), the attempt's parent. */
  start(info: AttemptInfo, trace: Context | undefined): ObservedAttempt;
}

const unobserved: ObservedAttempt = { end: () => {} };

export const noObserver: AttemptObserver = { start: () => unobserved };

/** Several observers as one: the attempt's trace context is the first one any of them gives. */
export function observeWith(...list: AttemptObserver[]): AttemptObserver {
  if (list.length === 0) return noObserver;
  if (list.length === 1) return list[0]!;
  return {
    start(info, trace) {
      const started = list.map((observer) => observer.start(info, trace));
      return {
        trace: started.find((observed) => observed.trace !== undefined)?.trace,
        end: (result, error) => {
          for (const observed of started) observed.end(result, error);
        },
      };
    },
  };
}
