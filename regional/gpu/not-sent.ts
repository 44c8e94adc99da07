import { GatewayError } from "../../shared/error.ts";

/**
 * A marketplace call the gateway refused itself, before anything was sent: paced past its
 * deadline, the marketplace cooling down, its breaker open. Nothing can have been created,
 * so a create moves on at once, and no breaker hears of it.
 */
export class NotSent extends GatewayError {
  readonly notSent = true;
}

export const isNotSent = (error: unknown): error is NotSent => error instanceof NotSent;
