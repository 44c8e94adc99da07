import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { sortByCost, splitReady } from "./ready-first.ts";
import { takingTurns } from "./round-robin.ts";

/**
 * The ready target with the fewest calls in flight first (streams count until they end), the
 * others by the same count. Equals take turns, so an idle route still spreads its requests.
 */
export function leastOutstandingPicker(): Picker {
  const nextTurn = takingTurns();
  return {
    order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
      const { ready, waiting } = splitReady(targets, view);
      const turned = nextTurn(ready);
      const order = sortByCost(
        turned,
        turned.map((target) => view.inFlight(target)),
      );
      return waiting.length === 0 ? order : order.concat(waiting);
    },
  };
}
