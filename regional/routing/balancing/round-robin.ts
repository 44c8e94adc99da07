import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { splitReady } from "./ready-first.ts";

/** The `start`-th item first, then the others in turn after it. */
export function rotated<T>(list: T[], start: number): T[] {
  return start === 0 ? list : list.slice(start).concat(list.slice(0, start));
}

/**
 * Each request starts one further along the ready targets, the others following in turn as
 * fallbacks; the turn is counted over ready targets, so a skipped one gives its share to the rest.
 */
export function roundRobinPicker(): Picker {
  let turn = 0;
  return {
    order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
      const { ready, waiting } = splitReady(targets, view);
      const start = ready.length === 0 ? 0 : turn++ % ready.length;
      if (turn >= Number.MAX_SAFE_INTEGER) turn = 0;
      const order = rotated(ready, start);
      return waiting.length === 0 ? order : order.concat(waiting);
    },
  };
}
