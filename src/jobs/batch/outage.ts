/**
 * A backend outage pauses a batch instead of failing every record: the call is retried with
 * capped exponential backoff until it answers, the batch is aborted, or `outageTimeoutMs` passes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type GatewayError, toGatewayError } from "../../errors.js";

const FIRST_WAIT_MS = 200;
const MAX_WAIT_MS = 10_000;

/** What retrying needs. */
export interface OutageOptions {
  readonly outageTimeoutMs: number;
  readonly signal: AbortSignal;
  readonly onPause?: (paused: boolean, error: GatewayError) => void;
}

/** True for errors that mean "the backend cannot answer now", not "this record is bad". */
export function isOutage(error: GatewayError): boolean {
  return (
    error.code === "BACKEND_UNAVAILABLE" ||
    error.code === "BACKEND_TIMEOUT" ||
    error.code === "OVERLOADED"
  );
}

/** Runs `fn`, retrying while it fails with an outage. */
export async function retryOutage<T>(fn: () => Promise<T>, options: OutageOptions): Promise<T> {
  let waitMs = FIRST_WAIT_MS;
  let since: number | undefined;
  let last: GatewayError | undefined;
  for (;;) {
    try {
      const value = await fn();
      if (last !== undefined) options.onPause?.(false, last);
      return value;
    } catch (err) {
      const error = toGatewayError(err);
      if (options.signal.aborted || !isOutage(error)) throw err;
      since ??= Date.now();
      if (Date.now() - since >= options.outageTimeoutMs) throw error;
      if (last === undefined) options.onPause?.(true, error);
      last = error;
      const jitter = 0.8 + Math.random() * 0.4;
      await sleep(waitMs * jitter, undefined, { signal: options.signal });
      waitMs = Math.min(MAX_WAIT_MS, waitMs * 2);
    }
  }
}
