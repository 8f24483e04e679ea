/**
 * `{date}` and `{datetime}` in scheduled batch paths, expanded in the schedule's IANA time zone so
 * a nightly report lands under the local date its readers expect.
 */
import { InvalidRequestError } from "../../errors.js";

interface WallClock {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Distinct zones are few (one per schedule); the bound only stops a caller from growing it. */
const MAX_FORMATTERS = 256;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
      });
    } catch (err) {
      throw new InvalidRequestError(`unknown time zone ${JSON.stringify(timeZone)}`, {
        cause: err,
      });
    }
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClock(now: Date, timeZone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(now)) parts[part.type] = part.value;
  return {
    year: (parts.year ?? "").padStart(4, "0"),
    month: parts.month ?? "",
    day: parts.day ?? "",
    hour: parts.hour ?? "",
    minute: parts.minute ?? "",
    second: parts.second ?? "",
  };
}

/** True when the string names a time zone Intl knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces `{date}` with YYYY-MM-DD and `{datetime}` with YYYYMMDDTHHMMSSZ, the wall clock of
 * `now` in `timeZone` (default UTC). Other text, braces included, is left as it is.
 */
export function expandPathPlaceholders(template: string, now: Date, timeZone = "UTC"): string {
  if (!template.includes("{date}") && !template.includes("{datetime}")) return template;
  const c = wallClock(now, timeZone);
  const date = `${c.year}-${c.month}-${c.day}`;
  const datetime = `${c.year}${c.month}${c.day}T${c.hour}${c.minute}${c.second}Z`;
  return template.replaceAll("{datetime}", datetime).replaceAll("{date}", date);
}
