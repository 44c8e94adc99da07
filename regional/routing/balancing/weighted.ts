import type { Balanced, BalancingView, Picker } from "./picker.ts";
import { splitReady } from "./ready-first.ts";

/** One ready target drawn by weight goes first; the others keep the routes file's order as fallbacks. */
export const weightedPicker = (): Picker => ({
  order<T extends Balanced>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
    const { ready, waiting } = splitReady(targets, view);
    if (ready.length > 1) {
      let total = 0;
      for (const target of ready) total += target.weight;
      let draw = view.random() * total;
      let first = ready.length - 1;
      for (let i = 0; i < ready.length; i++) {
        draw -= (ready[i] as T).weight;
        if (draw < 0) {
          first = i;
          break;
        }
      }
      const [drawn] = ready.splice(first, 1);
      ready.unshift(drawn as T);
    }
    return waiting.length === 0 ? ready : ready.concat(waiting);
  },
});
