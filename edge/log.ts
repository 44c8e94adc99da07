import { scrub, scrubText } from "../shared/logging/scrub.ts";

export type LogLevel = "info" | "warn" | "error";

/** The request a line is about; every line about a request carries both ids. */
export interface RequestIds {
  requestId: string;
  traceId: string;
}

/**
 * One JSON object per line (`{"level","time","msg",...fields,"request_id","trace_id"}`),
 * which Workers Logs and `wrangler tail` index. Credentials never reach a line: the fields
 * and the message go through the scrubber regional's logger uses (credential-named fields
 * at any depth, `Bearer` tokens, `bw_` and provider keys, URL passwords).
 */
export function log(level: LogLevel, msg: string, ids: RequestIds | null, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({
    level,
    time: new Date().toISOString(),
    msg: scrubText(msg),
    ...(scrub(fields) as Record<string, unknown>),
    ...(ids && { request_id: ids.requestId, trace_id: ids.traceId }),
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** An error as one line of text for a log field (scrubbed with the rest of the line). */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
