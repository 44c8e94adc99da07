import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { sortByCost, splitReady } from "./ready-first.ts";
import { rotated } from "./round-robin.ts";

/**
 * The ready target with the fewest calls in flight first (streams count until they end), the
 * others by the same count. Equals take turns, so an idle route still spreads its requests.
 */
export function leastOutstandingPicker(): Picker {
  let turn = 0;
  return {
    order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
      const { ready, waiting } = splitReady(targets, view);
      const start = ready.length === 0 ? 0 : turn++ % ready.length;
      if (turn >= Number.MAX_SAFE_INTEGER) turn = 0;
      const turned = rotated(ready, start);
      const order = sortByCost(
        turned,
        turned.map((target) => view.inFlight(target)),
      );
      return waiting.length === 0 ? order : order.concat(waiting);
    },
  };
}
