import { pino, type DestinationStream } from "pino";
import { redactPaths } from "./logging/redact-paths.ts";
import { scrub, scrubText } from "../shared/logging/scrub.ts";
import { flatLine, type FlatFields } from "./logging/flat-line.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A line of flat fields (strings, numbers, booleans; undefined ones left out) at `level`,
   * the same line `info` and the rest would write, redacted and scrubbed by the same rules,
   * without pino's general serializer: for the access log's line a request (with pino's the
   * access log added 13 µs a request in `npm run bench`, with this 3–7).
   */
  flat(level: Exclude<LogLevel, "silent">, message: string, fields: FlatFields): void;
}

/** Where lines go: each without its line break, and whether it is a warning or an error. */
export type LogWrite = (line: string, isError: boolean) => void;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, flat() {} };

/**
 * pino, one JSON object per line: `{"level":"info","time":"<ISO>",...fields,"msg":"..."}`.
 * Debug and info go to stdout, warnings and errors to stderr (or to `write`, for tests).
 * Credentials never reach a line: fields named for them are redacted by path, and every
 * string value and message is scrubbed of tokens, keys and URL passwords.
 */
export function createLogger(level: LogLevel = "info", write?: LogWrite): Logger {
  if (level === "silent") return silent;
  const [out, err] = write
    ? [toWrite(write, false), toWrite(write, true)]
    : // Info and debug (the access log: a line per request) are written asynchronously, batched under
      // load: a synchronous write cost 15–20 µs a line. pino flushes what is pending when the process
      // exits, however it exits short of a kill. Warnings and errors stay synchronous: out before
      // anything else happens (an uncaught exception's line before the exit).
      [pino.destination({ dest: 1, sync: false }), pino.destination({ dest: 2, sync: true })];
  const logger = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: "[redacted]" },
    },
    pino.multistream(
      [
        { level: "debug", stream: out },
        { level: "warn", stream: err },
      ],
      // Each line to the one stream of the highest level it reaches: warnings to stderr only.
      { dedupe: true },
    ),
  );
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (message: string, fields: LogFields = {}): void => {
      if (logger.isLevelEnabled(name)) logger[name](scrub(fields) as LogFields, scrubText(message));
    };
  const flat = (level: Exclude<LogLevel, "silent">, message: string, fields: FlatFields): void => {
    if (!logger.isLevelEnabled(level)) return;
    // Where pino's multistream sends a line of this level: warnings and errors to `err` only.
    (level === "warn" || level === "error" ? err : out).write(flatLine(level, message, fields));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), flat };
}

function toWrite(write: LogWrite, isError: boolean): DestinationStream {
  return { write: (line) => write(line.endsWith("\n") ? line.slice(0, -1) : line, isError) };
}
