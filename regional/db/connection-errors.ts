import { GatewayError } from "../../shared/error.ts";

/** Node socket errors that mean the server cannot be reached or went away. */
const socketCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/** postgres.js' own connection errors. */
const driverCodes = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);
/** admin_shutdown, crash_shutdown, cannot_connect_now: the server is stopping, crashed or starting. */
const shutdownStates = new Set(["57P01", "57P02", "57P03"]);

/**
 * True when a database error says the node is unreachable rather than that the query was
 * wrong: the caller should try again later (503), and the node is suspect.
 */
export function isConnectionError(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 4) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === "string" &&
    (socketCodes.has(code) || driverCodes.has(code) || shutdownStates.has(code) || /^08[0-9A-Z]{3}$/.test(code))
  )
    return true;
  // Node reports a refused connect to every address of a host as an AggregateError.
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested) && nested.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError((error as { cause?: unknown }).cause, depth + 1);
}

/** The answer when the database node a request needs is down: 503 `unavailable` with `Retry-After`. */
export function databaseUnavailable(options: { message?: string; retryAfterS?: number; cause?: unknown } = {}): GatewayError {
  return new GatewayError("unavailable", {
    message: options.message ?? "The database is temporarily unavailable; try again shortly.",
    retryAfterS: options.retryAfterS ?? 1,
    cause: options.cause,
  });
}
