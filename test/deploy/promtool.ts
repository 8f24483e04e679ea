/**
 * Runs Prometheus' promtool for the deploy tests. promtool comes with Debian's `prometheus`
 * package; without it the tests skip with a warning, except under CI, where they fail.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus";

/** The promtool executable on PATH, if any. */
export function findPromtool(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "promtool");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** What a promtool run printed and how it exited. */
export interface PromtoolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `promtool args...` with `input` on stdin; bounded by a timeout so a hang cannot stall CI. */
export function runPromtool(bin: string, args: string[], input?: string): PromtoolResult {
  const result = spawnSync(bin, args, {
    input: input ?? "",
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
