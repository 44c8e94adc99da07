import type { StreamEvents } from "../routing/continued-stream.ts";
import type { Metrics } from "./metrics.ts";

/** Streams that broke after they started, and what became of continuing them. Rare events: labels are resolved when they happen. */
export function streamMetrics(metrics: Metrics): StreamEvents {
  const { continuations, failures } = metrics.streams;
  return {
    broke: (provider, outcome) => failures.inc({ provider, outcome }),
    continuation: (result) => continuations.inc({ result }),
  };
}
