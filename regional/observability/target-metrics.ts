import type { CounterChild, HistogramChild, HotCounter, HotHistogram } from "./hot-metrics.ts";
import type { AttemptResult } from "../routing/attempt-observer.ts";

/** The upstream metric families, labelled by provider and model. */
export interface UpstreamFamilies {
  attempts: HotCounter<"provider" | "model" | "outcome">;
  duration: HotHistogram<"provider" | "model" | "outcome">;
  retries: HotCounter<"provider" | "model">;
  fallbacks: HotCounter<"provider" | "model">;
  firstToken: HotHistogram<"provider" | "model">;
  tokens: HotCounter<"provider" | "model" | "direction">;
}

interface ResultChildren {
  attempts: CounterChild;
  duration: HistogramChild;
}

/** A target's metric children, resolved once: the request path only looks them up. */
export interface TargetChildren {
  retries: CounterChild;
  fallbacks: CounterChild;
  firstToken: HistogramChild;
  input: CounterChild;
  output: CounterChild;
  /** The attempt counter and duration of one outcome. */
  ended(result: AttemptResult): ResultChildren;
}

/** Per-target children of the upstream families, kept by provider then model: no label key is built per call. */
export interface TargetMetrics {
  of(provider: string, model: string): TargetChildren;
}

export function targetMetrics(upstream: UpstreamFamilies): TargetMetrics {
  const byProvider = new Map<string, Map<string, TargetChildren>>();

  function children(provider: string, model: string): TargetChildren {
    const labels = { provider, model };
    const byResult = new Map<AttemptResult, ResultChildren>();
    return {
      retries: upstream.retries.labels(labels),
      fallbacks: upstream.fallbacks.labels(labels),
      firstToken: upstream.firstToken.labels(labels),
      input: upstream.tokens.labels({ ...labels, direction: "input" }),
      output: upstream.tokens.labels({ ...labels, direction: "output" }),
      ended(result) {
        let found = byResult.get(result);
        if (!found) {
          const outcome = { ...labels, outcome: result };
          byResult.set(result, (found = { attempts: upstream.attempts.labels(outcome), duration: upstream.duration.labels(outcome) }));
        }
        return found;
      },
    };
  }

  return {
    of(provider, model) {
      let models = byProvider.get(provider);
      if (!models) byProvider.set(provider, (models = new Map()));
      let found = models.get(model);
      if (!found) models.set(model, (found = children(provider, model)));
      return found;
    },
  };
}
