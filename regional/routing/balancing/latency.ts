import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { sortByCost, splitReady } from "./ready-first.ts";

/**
 * Power of two choices over the ready targets: two drawn at random, the one with the lower
 * cost goes first — its smoothed latency times its calls in flight plus one, so a fast target
 * is not piled onto — and the rest follow by cost. Two draws rather than the best of all keep
 * concurrent requests from stampeding onto the one target that looked fastest a moment ago.
 */
export const latencyPicker = (): Picker => ({
  order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
    const { ready, waiting } = splitReady(targets, view);
    if (ready.length > 1) {
      // A millisecond's floor, so targets not yet measured still spread by their calls in flight.
      const costs = ready.map((target) => (view.latencyMs(target) + 1) * (view.inFlight(target) + 1));
      const a = Math.floor(view.random() * ready.length) % ready.length;
      const b = (a + 1 + (Math.floor(view.random() * (ready.length - 1)) % (ready.length - 1))) % ready.length;
      const first = (costs[b] as number) < (costs[a] as number) ? b : a;
      [ready[0], ready[first]] = [ready[first] as T, ready[0] as T];
      [costs[0], costs[first]] = [costs[first] as number, costs[0] as number];
      sortByCost(ready, costs, 1);
    }
    return waiting.length === 0 ? ready : ready.concat(waiting);
  },
});
