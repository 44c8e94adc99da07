import { costCommentPrefix } from "../../shared/contract/budgets.ts";
import { formatMoney, type Money } from "../pricing/money.ts";

const encoder = new TextEncoder();

/**
 * A stream's cost as the SSE comment the edge reads (and strips) at its end; clients ignore
 * comments anyway. Undefined when the cost is not known: no comment means unknown.
 */
export function costComment(cost: Money | null): Uint8Array | undefined {
  return cost ? encoder.encode(`${costCommentPrefix}${formatMoney(cost)}\n\n`) : undefined;
}

/** Bytes one after the other, as one chunk. */
export function joined(first: Uint8Array, second: Uint8Array): Uint8Array {
  const both = new Uint8Array(first.byteLength + second.byteLength);
  both.set(first);
  both.set(second, first.byteLength);
  return both;
}
