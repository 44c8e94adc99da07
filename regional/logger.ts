import { scrubUrlCredentials } from "./redact-url.ts";

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const secretField = /authorization|api[-_]?key|secret|password|token/i;
const bearer = /\b(Bearer\s+)[^\s"]+/gi;
const gatewayKey = /\bbw_[A-Za-z0-9_-]{6,}/g;

/** Replaces credentials anywhere in a log record; keys and connection-string passwords never reach a log line. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubUrlCredentials(value.replace(bearer, "$1[redacted]").replace(gatewayKey, "bw_[redacted]"));
  if (value instanceof Error) return { name: value.name, message: redact(value.message), code: (value as { code?: unknown }).code };
  if (depth > 5 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, secretField.test(key) ? "[redacted]" : redact(item, depth + 1)]),
  );
}

/** One JSON object per line on stdout (stderr for warnings and errors). */
export function createLogger(level: LogLevel = "info", write: (line: string, isError: boolean) => void = defaultWrite): Logger {
  const threshold = levels[level];
  const log =
    (at: Exclude<LogLevel, "silent">) =>
    (message: string, fields: LogFields = {}) => {
      if (levels[at] < threshold) return;
      const record = { time: new Date().toISOString(), level: at, message: redact(message), ...(redact(fields) as LogFields) };
      write(JSON.stringify(record), levels[at] >= levels.warn);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function defaultWrite(line: string, isError: boolean): void {
  (isError ? process.stderr : process.stdout).write(`${line}\n`);
}
