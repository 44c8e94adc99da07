import type { Picker } from "./picker.ts";
import { readyFirst } from "./ready-first.ts";

/** The routes file's order: the first ready target, the rest as fallbacks. */
export const orderedPicker = (): Picker => ({ order: (targets, view) => readyFirst(targets, view) });
