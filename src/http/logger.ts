/** The HTTP front's fallback logger: without an injected one, bugs still leave a trace on stderr. */
import type { HttpLogger } from "./deps.js";

/** One JSON line per entry on stderr. */
export const stderrLogger: HttpLogger = {
  error: (obj, msg) => console.error(JSON.stringify({ level: "error", msg, ...describe(obj) })),
  warn: (obj, msg) => console.error(JSON.stringify({ level: "warn", msg, ...describe(obj) })),
  info: (obj, msg) => console.error(JSON.stringify({ level: "info", msg, ...describe(obj) })),
};

function describe(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    out[key] = value instanceof Error ? { message: value.message, stack: value.stack } : value;
  }
  return out;
}
