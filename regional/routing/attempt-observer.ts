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
  /** Runs the upstream call inside whatever the observer keeps around the attempt (a trace span). */
  run<T>(call: () => Promise<T>): Promise<T>;
  end(result: AttemptResult, error?: unknown): void;
}

/** Told of every attempt the router makes; metrics and tracing each implement one. */
export interface AttemptObserver {
  start(info: AttemptInfo): ObservedAttempt;
}

const unobserved: ObservedAttempt = { run: (call) => call(), end: () => {} };

export const noObserver: AttemptObserver = { start: () => unobserved };

/** Several observers as one: each call runs inside every observer's `run`, the first outermost. */
export function observeWith(...list: AttemptObserver[]): AttemptObserver {
  if (list.length === 0) return noObserver;
  if (list.length === 1) return list[0]!;
  return {
    start(info) {
      const started = list.map((observer) => observer.start(info));
      return {
        run: <T>(call: () => Promise<T>) => started.reduceRight<() => Promise<T>>((inner, observed) => () => observed.run(inner), call)(),
        end: (result, error) => {
          for (const observed of started) observed.end(result, error);
        },
      };
    },
  };
}
