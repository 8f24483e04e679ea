/** The gateway's JSON logger (pino): one JSON object per line on stdout. */
import { pino } from "pino";

/** The logger type used across the gateway. */
export type Logger = pino.Logger;

/** The values `LOG_LEVEL` accepts, most verbose first. */
export const LOG_LEVELS: readonly string[] = [
  ...Object.entries(pino.levels.values)
    .sort(([, a], [, b]) => a - b)
    .map(([name]) => name),
  "silent",
];

/** A `LOG_LEVEL` that is not one of LOG_LEVELS; the message names the ones that exist. */
export class LogLevelError extends Error {
  override name = "LogLevelError";
  constructor(level: string) {
    super(`LOG_LEVEL: unknown level ${JSON.stringify(level)}; use one of ${LOG_LEVELS.join(", ")}`);
  }
}

/**
 * Creates the process logger; `LOG_LEVEL` sets the level (default info). An unknown level is a
 * LogLevelError (pino's own message speaks of custom levels, which the gateway has none of).
 */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  if (!LOG_LEVELS.includes(level)) throw new LogLevelError(level);
  // minLength 1 still writes each line at once (every line is longer), and unlike 0 it makes
  // flush(cb) wait for the writes in flight instead of calling back at once (see flushLogger).
  const destination = pino.destination({ dest: 1, sync: false, minLength: 1 });
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * Waits until every line logged so far is written (at most `timeoutMs`). pino writes stdout
 * asynchronously; on `process.exit` a write still in flight, such as the last "stopped" line
 * while a slow reader keeps the pipe full, would be lost.
 */
export function flushLogger(logger: Logger, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    // The callback gets fsync's error on a pipe or terminal; the lines are written by then.
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
