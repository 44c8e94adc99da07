import type { BalancingView } from "./picker.ts";

/** The targets split into those ready now and the rest, each in the order given. */
export function splitReady<T>(targets: readonly T[], view: BalancingView<T>): { ready: T[]; waiting: T[] } {
  const ready: T[] = [];
  const waiting: T[] = [];
  for (const target of targets) (view.ready(target) ? ready : waiting).push(target);
  return { ready, waiting };
}

/** Ready targets first, in the given order; the list itself when all are (the usual case: no copy). */
export function readyFirst<T>(targets: readonly T[], view: BalancingView<T>): readonly T[] {
  if (targets.every((target) => view.ready(target))) return targets;
  const { ready, waiting } = splitReady(targets, view);
  return ready.concat(waiting);
}

/**
 * `list` in place from index `from` on, ascending by `costs` (one per item, moved along with it),
 * keeping the order of equals. An insertion sort: routes have a handful of targets.
 */
export function sortByCost<T>(list: T[], costs: number[], from = 0): T[] {
  for (let i = from + 1; i < list.length; i++) {
    const item = list[i] as T;
    const cost = costs[i] as number;
    let j = i - 1;
    while (j >= from && (costs[j] as number) > cost) {
      list[j + 1] = list[j] as T;
      costs[j + 1] = costs[j] as number;
      j--;
    }
    list[j + 1] = item;
    costs[j + 1] = cost;
  }
  return list;
}
