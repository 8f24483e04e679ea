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
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
