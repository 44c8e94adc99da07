import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { splitReady } from "./ready-first.ts";

/** The `start`-th item first, then the others in turn after it. */
function rotated<T>(list: T[], start: number): T[] {
  return start === 0 ? list : list.slice(start).concat(list.slice(0, start));
}

/** Rotates each list it is given to start one further along than the list before: a picker's turns. */
export function takingTurns(): <T>(list: T[]) => T[] {
  let turn = 0;
  return (list) => {
    const start = list.length === 0 ? 0 : turn++ % list.length;
    if (turn >= Number.MAX_SAFE_INTEGER) turn = 0;
    return rotated(list, start);
  };
}

/**
 * Each request starts one further along the ready targets, the others following in turn as
 * fallbacks; the turn is counted over ready targets, so a skipped one gives its share to the rest.
 */
export function roundRobinPicker(): Picker {
  const nextTurn = takingTurns();
  return {
    order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
      const { ready, waiting } = splitReady(targets, view);
      const order = nextTurn(ready);
      return waiting.length === 0 ? order : order.concat(waiting);
    },
  };
}
