import type { AttemptObserver } from "../routing/attempt-observer.ts";
import type { Metrics } from "./metrics.ts";

/**
 * Counts every upstream attempt the router makes: by outcome class (or `circuit_open`), its
 * duration (a stream's until its first content), retries, and fallbacks (a request's first
 * attempt at a target after an earlier target of its route).
 */
export function attemptMetrics(metrics: Metrics): AttemptObserver {
  return {
    start(info) {
      const target = metrics.targets.of(info.provider, info.model);
      if (info.retry > 0) target.retries.inc();
      else if (info.fallback > 0) target.fallbacks.inc();
      const started = performance.now();
      return {
        end(result) {
          const ended = target.ended(result);
          ended.attempts.inc();
          // A breaker's refusal made no call: it has no duration worth a bucket.
          if (result !== "circuit_open") ended.duration.observe((performance.now() - started) / 1000);
        },
      };
    },
  };
}
