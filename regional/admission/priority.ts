import { GatewayError } from "../../shared/error.ts";

/** Served strictly in this order when slots free: `high` first, `low` last. */
export const priorities = ["high", "normal", "low"] as const;
export type Priority = (typeof priorities)[number];

/** The header a request lowers its own priority with. */
export const priorityHeader = "x-breakwater-priority";

export const isPriority = (value: unknown): value is Priority =>
  typeof value === "string" && (priorities as readonly string[]).includes(value);

/** 0 for `high`, 2 for `low`: the index of the queue's lane. */
export const rankOf = (priority: Priority): number => priorities.indexOf(priority);

/**
 * The priority a request runs at: what its key or tenant was granted, or lower if the request
 * asks (`x-breakwater-priority: low`). Asking for more than was granted keeps the grant: a
 * client cannot buy its way ahead. A value that is no priority is refused, so a typo never
 * passes unnoticed.
 */
export function effectivePriority(granted: Priority, asked: string | undefined): Priority {
  if (asked === undefined || asked === "") return granted;
  const wanted = asked.trim().toLowerCase();
  if (!isPriority(wanted)) {
    throw new GatewayError("invalid_request", {
      message: `${priorityHeader} must be one of ${priorities.join(", ")}, got '${asked.slice(0, 40)}'.`,
      param: priorityHeader,
    });
  }
  return rankOf(wanted) > rankOf(granted) ? wanted : granted;
}
