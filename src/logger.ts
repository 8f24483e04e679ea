/** The gateway's JSON logger (pino): one JSON object per line on stdout. */
import { pino } from "pino";

/** The logger type used across the gateway. */
export type Logger = pino.Logger;

/** Creates the process logger; `LOG_LEVEL` sets the level (default info). */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
