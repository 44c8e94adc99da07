import { errorHandler as sharedErrorHandler } from "../../shared/http/errors.ts";
import { databaseUnavailable, isConnectionError } from "../db/connection-errors.ts";
import type { Logger } from "../logger.ts";
import type { AppEnv } from "./context.ts";

/**
 * Regional's error handling: the shared handler, knowing that a database node gone
 * (refused, reset, shutting down) is a moment's outage, not a bug — 503, try again.
 */
export function errorHandler(logger: Logger) {
  return sharedErrorHandler<AppEnv>({
    known: (error) => (isConnectionError(error) ? databaseUnavailable({ cause: error }) : undefined),
    logFailure: ({ requestId, traceId, code, path, error }) => logger.error("request failed", { requestId, traceId, code, path, error }),
    logClientGone: ({ requestId, traceId, path }) => logger.info("client left before the answer", { requestId, traceId, path }),
  });
}
