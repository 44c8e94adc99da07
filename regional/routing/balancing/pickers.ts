import { latencyPicker } from "./latency.ts";
import { leastOutstandingPicker } from "./least-outstanding.ts";
import { orderedPicker } from "./ordered.ts";
import type { Picker } from "./picker.ts";
import { roundRobinPicker } from "./round-robin.ts";
import type { BalancingStrategy } from "./strategy.ts";
import { weightedPicker } from "./weighted.ts";

const pickers: Record<BalancingStrategy, () => Picker> = {
  ordered: orderedPicker,
  weighted: weightedPicker,
  round_robin: roundRobinPicker,
  least_outstanding: leastOutstandingPicker,
  latency: latencyPicker,
};

/** A fresh picker of `strategy`, for one route. */
export const createPicker = (strategy: BalancingStrategy): Picker => pickers[strategy]();
