/**
 * Teardown for a bench file: processes, servers and clients register here as they start and are
 * closed in reverse order by `afterAll`, also when a scenario throws half-way.
 */
import { afterAll } from "vitest";

const pending: Array<() => Promise<unknown> | unknown> = [];

/** Closes `fn` when the bench file ends, after everything registered later. */
export function deferCleanup(fn: () => Promise<unknown> | unknown): void {
  pending.push(fn);
}

afterAll(async () => {
  for (const fn of pending.reverse()) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
});
