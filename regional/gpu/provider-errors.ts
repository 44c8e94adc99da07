import { GatewayError } from "../../shared/error.ts";
import { isNotSent } from "./not-sent.ts";

/** The marketplace answered 404: the thing asked for does not exist (any more). */
function notFoundAtProvider(error: unknown): boolean {
  return error instanceof GatewayError && error.upstreamStatus === 404;
}

/** The call's answer, or undefined when the marketplace says the thing is gone (404). */
export async function unlessGone<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (notFoundAtProvider(error)) return undefined;
    throw error;
  }
}

/**
 * The marketplace said no and nothing was made: a 4xx answer other than timeouts. Anything
 * else on a create (5xx, timeout, reset) may have made the instance, so it is reconciled.
 */
export function definitelyRefused(error: unknown): boolean {
  if (!(error instanceof GatewayError) || error.upstreamStatus === undefined) return false;
  return error.upstreamStatus >= 400 && error.upstreamStatus < 500 && error.upstreamStatus !== 408;
}

/** A create that surely made nothing: refused by the marketplace, or never sent (paced, cooling, breaker open). */
export function nothingMade(error: unknown): boolean {
  return isNotSent(error) || definitelyRefused(error);
}
