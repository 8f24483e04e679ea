/**
 * The process's soft open-file limit (`ulimit -n`), read from /proc on Linux, so start-up can
 * warn when `server.limits.maxConnections` could never be reached before descriptors run out.
 */
import { readFileSync } from "node:fs";

/** The soft limit on open files, or undefined where it cannot be read (not Linux, unlimited). */
export function openFileLimit(procLimits = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(procLimits, "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}
